package dataflow

import "time"

// Document is a dataflow document before it is rendered in a format.
type Document struct {
	Title     string
	Generated time.Time
	Intro     []Block
	Sections  []Section
}

// Section is one source datatype meeting one target datatype.
type Section struct {
	Title string
	// Source and Target name the mappings the section joins
	// ("system:datatype"), for tests and error messages.
	Source, Target string
	Blocks         []Block
	// Properties is the table of synchronized properties; it is also one
	// of Blocks.
	Properties *Table
}

// Block is a paragraph, a bullet list or a table.
type Block struct {
	Para  Text
	List  []Text
	Table *Table
}

// Table is a table with one header row.
type Table struct {
	Header []string
	Rows   [][]Text
}

// Text is running text: plain words and names from the configuration.
type Text []Span

// Span is a piece of Text; Code marks a field, property or expression as it
// is written in the configuration.
type Span struct {
	Text string
	Code bool
}

func plain(s string) Span { return Span{Text: s} }
func code(s string) Span  { return Span{Text: s, Code: true} }

func para(spans ...Span) Block { return Block{Para: spans} }

// String is the text without markup.
func (t Text) String() string {
	var s string
	for _, sp := range t {
		s += sp.Text
	}
	return s
}
