package dataflow

import (
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/mapping"
)

func compileYAML(t *testing.T, yaml string) *mapping.Set {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	set, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

const twoSystems = `
systems:
  a: {kind: memory, title: Shop}
  b: {kind: memory, title: Books}
mappings:
  - {system: a, datatype: people, canonical: contact, properties: [{field: first, property: first_name}]}
  - {system: b, datatype: contacts, canonical: contact, properties: [{field: last, property: last_name}]}
`

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, source, target, want string
	}{
		{"empty table", twoSystems, "a", "b",
			`a:people → b:contacts ("Shop people to Books contacts"): the two mappings share no canonical property`},
		{"same system", twoSystems, "a", "a", `source and target are both "a"`},
		{"unknown system", twoSystems, "a", "c", `no mappings of a system "c" (systems with mappings: a, b)`},
		{"nothing meets", `
systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - {system: a, datatype: people, canonical: contact, properties: [{field: first, property: first_name}]}
  - {system: b, datatype: things, canonical: product, properties: [{field: code, property: code}]}
`, "a", "b", "no datatype of a reaches b"},
		{"one way only", `
systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - {system: a, datatype: people, canonical: contact, direction: out, properties: [{field: first, property: first_name}]}
  - {system: b, datatype: contacts, canonical: contact, properties: [{field: first, property: first_name}]}
`, "a", "b", "no datatype of a reaches b"},
		{"one title twice", `
systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - {system: a, datatype: people, canonical: contact, properties: [{field: first, property: first_name}]}
  - {system: b, datatype: contacts, title: Person, canonical: contact, properties: [{field: first, property: first_name}]}
  - {system: b, datatype: employees, title: Person, canonical: contact, properties: [{field: first, property: first_name}]}
`, "a", "b", `both titled "a people to b Person"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range Formats {
				_, err := Generate(compileYAML(t, tc.yaml), tc.source, tc.target, f, generatedAt)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: error %v, want one saying %q", f, err, tc.want)
				}
			}
		})
	}
}

func TestConditionWords(t *testing.T) {
	subject := func(variable, prop string) Text { return Text{plain(variable + "'s " + prop)} }
	for src, want := range map[string]string{
		"golden.status == 'quote'":               "golden's status is 'quote'",
		"'quote' == golden.status":               "golden's status is 'quote'",
		"golden.status in ['open', 'confirmed']": "golden's status is one of 'open', 'confirmed'",
		"golden.status not in ['quote']":         "golden's status is none of 'quote'",
		"record.Level >= 3 && !record.Lost":      "record's Level is at least 3 and record's Lost is false or empty",
		"not (golden.a == 1 or golden.b != nil)": "golden's a is not 1 and golden's b is empty",
		"golden.vat_number != ''":                "golden's vat_number is not empty",
		"3 < record.Level":                       "record's Level is more than 3",
		"lower(golden.status) == 'quote'":        "",
		"golden.status == golden.previous":       "",
		"record.Level >= 3 ? true : record.Won":  "",
	} {
		got, ok := conditionWords(src, subject)
		if ok != (want != "") || got.String() != want {
			t.Errorf("%s: %q %v, want %q", src, got.String(), ok, want)
		}
	}
}

func FuzzConditionWords(f *testing.F) {
	for _, s := range []string{"golden.status == 'quote'", "record.Level >= 3 && !record.Lost", "golden.status not in ['a']", "not (golden.a == 1 or golden.b != nil)", "golden.x", "1 < 2"} {
		f.Add(s)
	}
	subject := func(variable, prop string) Text { return Text{code(variable + "." + prop)} }
	f.Fuzz(func(t *testing.T, src string) {
		words, ok := conditionWords(src, subject)
		if ok && len(words) == 0 {
			t.Errorf("%q: no words", src)
		}
	})
}

// A target only written (direction out) is never read: its merge criteria
// match nothing, and the document does not promise they do.
func TestWriteOnlyTargetCriteria(t *testing.T) {
	set := compileYAML(t, `
systems:
  a: {kind: memory, title: Shop}
  b: {kind: memory, title: Books}
mappings:
  - {system: a, datatype: people, canonical: contact, direction: in, merge: [[email]], properties: [{field: mail, property: email}]}
  - {system: b, datatype: contacts, canonical: contact, direction: out, merge: [[email], [last_name]], properties: [{field: email, property: email}]}
`)
	doc, err := Build(set, "a", "b", generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	var crit *Table
	var text []string
	for _, b := range doc.Sections[0].Blocks {
		if b.Table != nil && crit == nil {
			crit = b.Table
		}
		text = append(text, b.Para.String())
	}
	if rows := tableRows(crit); len(rows) != 1 || rows[0] != "email | mail | email | Shop" {
		t.Errorf("criteria %q", rows)
	}
	if all := strings.Join(text, "\n"); !strings.Contains(all, "One-way: Shop people only feeds Concord and Books contacts is only written") {
		t.Errorf("no one-way sentence in\n%s", all)
	}
}
