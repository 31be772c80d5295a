package dataflow

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// renderRST writes reStructuredText: the title over- and underlined with
// '=', sections underlined with '-', tables as list-tables.
func renderRST(doc *Document) []byte {
	var b strings.Builder
	title := rstEscape(doc.Title)
	bar := strings.Repeat("=", utf8.RuneCountInString(title))
	b.WriteString(bar + "\n" + title + "\n" + bar + "\n\n")
	b.WriteString("Generated: " + doc.Generated.Format(GeneratedLayout) + "\n\n")
	rstSection(&b, "Introduction", doc.Intro)
	for _, s := range doc.Sections {
		rstSection(&b, s.Title, s.Blocks)
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n")
}

func rstSection(b *strings.Builder, title string, blocks []Block) {
	title = rstEscape(title)
	b.WriteString(title + "\n" + strings.Repeat("-", utf8.RuneCountInString(title)) + "\n\n")
	for _, bl := range blocks {
		switch {
		case bl.Table != nil:
			b.WriteString(".. list-table::\n   :header-rows: 1\n\n")
			row := func(cells []string) {
				for i, c := range cells {
					lead := "     - "
					if i == 0 {
						lead = "   * - "
					}
					b.WriteString(strings.TrimRight(lead+c, " ") + "\n")
				}
			}
			head := make([]string, len(bl.Table.Header))
			for i, h := range bl.Table.Header {
				head[i] = rstEscape(h)
			}
			row(head)
			for _, r := range bl.Table.Rows {
				cells := make([]string, len(r))
				for i, c := range r {
					cells[i] = rstText(c)
				}
				row(cells)
			}
		case bl.List != nil:
			for _, t := range bl.List {
				b.WriteString("- " + rstText(t) + "\n")
			}
		default:
			b.WriteString(rstText(bl.Para) + "\n")
		}
		b.WriteString("\n")
	}
}

func rstText(t Text) string {
	var b strings.Builder
	for _, sp := range t {
		if sp.Code {
			b.WriteString(rstLiteral(sp.Text))
		} else {
			b.WriteString(rstEscape(sp.Text))
		}
	}
	return b.String()
}

// rstLiteral is an inline literal. Its end must be followed by a space or
// punctuation, and a literal holding “ cannot be one: such text is
// escaped instead.
func rstLiteral(s string) string {
	if s == "" || strings.Contains(s, "``") || s != strings.TrimSpace(s) {
		return rstEscape(s)
	}
	return "``" + s + "``"
}

// rstEscape keeps plain text from being read as markup: emphasis,
// literals, substitutions, and references (a word ending in _).
func rstEscape(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch r {
		case '\\', '*', '`', '|':
			b.WriteRune('\\')
		case '_':
			if i+1 == len(rs) || !(unicode.IsLetter(rs[i+1]) || unicode.IsDigit(rs[i+1])) {
				b.WriteRune('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
