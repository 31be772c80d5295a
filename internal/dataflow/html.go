package dataflow

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"
	"unicode"
)

//go:embed page.html.tmpl
var pageSource string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"anchor":    anchor,
	"generated": func(d *Document) string { return d.Generated.Format(GeneratedLayout) },
}).Parse(pageSource))

// renderHTML writes one standalone page (styles inline, no scripts, no
// external resources) through html/template, which escapes every name from
// the configuration.
func renderHTML(doc *Document) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// anchor makes a section's id from its title.
func anchor(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}
