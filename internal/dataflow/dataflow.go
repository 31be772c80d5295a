package dataflow

import (
	"fmt"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/mapping"
)

// Format is an output format of a dataflow document.
type Format string

// The formats. RST is the default.
const (
	RST      Format = "rst"
	Markdown Format = "markdown"
	HTML     Format = "html"
)

// Formats lists the formats, default first.
var Formats = []Format{RST, Markdown, HTML}

// ParseFormat reads a format name; "md" is Markdown, "" is RST.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "rst", "restructuredtext":
		return RST, nil
	case "markdown", "md":
		return Markdown, nil
	case "html", "htm":
		return HTML, nil
	}
	return "", fmt.Errorf("unknown format %q: use rst, markdown or html", s)
}

// GeneratedLayout is how the document's "Generated:" line writes the time.
const GeneratedLayout = "2006-01-02 15:04:05"

// Generate renders the dataflow document from the system source to the
// system target (configuration keys) of a compiled mapping set. now is the
// time the document says it was generated (as given, in its own zone), so
// that the same mappings always give the same text.
func Generate(set *mapping.Set, source, target string, format Format, now time.Time) ([]byte, error) {
	doc, err := Build(set, source, target, now)
	if err != nil {
		return nil, err
	}
	return Render(doc, format)
}

// Render writes a built document in a format.
func Render(doc *Document, format Format) ([]byte, error) {
	switch format {
	case RST, "":
		return renderRST(doc), nil
	case Markdown:
		return renderMarkdown(doc), nil
	case HTML:
		return renderHTML(doc)
	}
	return nil, fmt.Errorf("unknown format %q: use rst, markdown or html", format)
}
