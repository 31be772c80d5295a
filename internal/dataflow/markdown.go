package dataflow

import (
	"strings"
	"unicode"
)

// renderMarkdown writes GitHub-flavoured Markdown (CommonMark with
// tables).
func renderMarkdown(doc *Document) []byte {
	var b strings.Builder
	b.WriteString("# " + mdEscape(doc.Title) + "\n\n")
	b.WriteString("Generated: " + doc.Generated.Format(GeneratedLayout) + "\n\n")
	mdSection(&b, "Introduction", doc.Intro)
	for _, s := range doc.Sections {
		mdSection(&b, s.Title, s.Blocks)
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n")
}

func mdSection(b *strings.Builder, title string, blocks []Block) {
	b.WriteString("## " + mdEscape(title) + "\n\n")
	for _, bl := range blocks {
		switch {
		case bl.Table != nil:
			head := make([]string, len(bl.Table.Header))
			rule := make([]string, len(bl.Table.Header))
			for i, h := range bl.Table.Header {
				head[i], rule[i] = mdEscape(h), "---"
			}
			b.WriteString("| " + strings.Join(head, " | ") + " |\n")
			b.WriteString("| " + strings.Join(rule, " | ") + " |\n")
			for _, r := range bl.Table.Rows {
				cells := make([]string, len(r))
				for i, c := range r {
					cells[i] = mdText(c, true)
				}
				b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			}
		case bl.List != nil:
			for _, t := range bl.List {
				b.WriteString("- " + mdText(t, false) + "\n")
			}
		default:
			b.WriteString(mdText(bl.Para, false) + "\n")
		}
		b.WriteString("\n")
	}
}

func mdText(t Text, inTable bool) string {
	var b strings.Builder
	for _, sp := range t {
		if sp.Code {
			b.WriteString(mdCode(sp.Text, inTable))
		} else {
			b.WriteString(mdEscape(sp.Text))
		}
	}
	return b.String()
}

// mdCode is a code span fenced by one backtick more than the longest run
// in the text. In a table even a code span's | ends the cell unless it is
// escaped.
func mdCode(s string, inTable bool) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return fence + s + fence
}

// mdEscape backslash-escapes the punctuation that could start markup. An
// underscore inside a word (order_lines) cannot, and stays as it is.
func mdEscape(s string) string {
	var b strings.Builder
	rs := []rune(s)
	word := func(i int) bool { return i >= 0 && i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i])) }
	for i, r := range rs {
		switch r {
		case '\\', '`', '*', '[', ']', '<', '>', '#', '|':
			b.WriteRune('\\')
		case '_':
			if !word(i-1) || !word(i+1) {
				b.WriteRune('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
