package rest_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/connector/rest"
)

// settingsYAML is a small valid settings block the cases below break.
const settingsYAML = `
base_url: https://shop.example.com/api
auth: {type: bearer, token_env: SHOP_TOKEN}
defaults:
  modified_field: updated_at
  list: {records: data}
  paging: {style: page, page_param: page, size_param: per_page, size: 50}
  changes: {style: updated_since, param: updated_since}
datatypes:
  customers: {}
  products: {}
`

func parseYAML(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("yaml: %v\n%s", err, text)
	}
	return m
}

func TestSettingsErrorsNameTheSettingAndWhatIsExpected(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		if k == "SHOP_TOKEN" {
			return "t0k3n", true
		}
		return "", false
	}
	cases := []struct {
		name string
		edit func(s map[string]any)
		want []string // each an error line
	}{
		{"unknown top-level key", func(s map[string]any) { s["base_ur"] = "x" },
			[]string{"settings.base_ur: unknown setting (settings takes auth, base_url, datatypes, defaults,"}},
		{"paging style", func(s map[string]any) {
			dig(s, "datatypes.customers.paging")["style"] = "pages"
		}, []string{`settings.datatypes.customers.paging.style: want one of cursor, link_header, next_url, none, offset, page; got "pages"`}},
		{"a key of another paging style", func(s map[string]any) {
			dig(s, "datatypes.customers.paging")["next_field"] = "links.next"
		}, []string{"settings.datatypes.customers.paging.next_field: not a setting of paging style page (it takes style, first_page, more_field, page_param, size, size_param)"}},
		{"a datatype's own style replaces the default paging", func(s map[string]any) {
			p := dig(s, "datatypes.customers.paging")
			p["style"], p["next_field"] = "next_url", "links.next"
		}, nil},
		{"unknown datatype key", func(s map[string]any) { dig(s, "datatypes.customers")["id_fild"] = "uid" },
			[]string{"settings.datatypes.customers.id_fild: unknown setting (a datatype takes changes, delete, deleted_field, get,"}},
		{"a wrong default is reported once, at the default", func(s map[string]any) {
			dig(s, "defaults.changes")["overlap"] = "soon"
		}, []string{`settings.defaults.changes.overlap: want a duration of at least 0s such as "30s" or "2m", got "soon"`}},
		{"secret from an unset variable", func(s map[string]any) { dig(s, "auth")["token_env"] = "NOPE" },
			[]string{"settings.auth.token_env: the environment variable NOPE is not set or empty"}},
		{"secret twice", func(s map[string]any) { dig(s, "auth")["token"] = "abc" },
			[]string{"settings.auth.token: give token or token_env, not both"}},
		{"no auth", func(s map[string]any) { delete(s, "auth") },
			[]string{"settings.auth: required: {type: bearer, token_env: …}, basic, api_key, oauth2_client_credentials, or {type: none}"}},
		{"auth key of another type", func(s map[string]any) { dig(s, "auth")["header"] = "X-Key" },
			[]string{"settings.auth.header: not a setting of auth of type bearer (it takes type, token, token_env)"}},
		{"base_url", func(s map[string]any) { s["base_url"] = "shop.example.com" },
			[]string{`settings.base_url: want an http or https URL without query, such as https://shop.example.com/api/v1; got "shop.example.com"`}},
		{"updated_since needs the modified field", func(s map[string]any) { delete(dig(s, "defaults"), "modified_field") },
			[]string{"settings.datatypes.customers.modified_field: required with changes style updated_since",
				"settings.datatypes.products.modified_field: required with changes style updated_since"}},
		{"cursor paging needs its parameter and field", func(s map[string]any) {
			dig(s, "datatypes.products")["paging"] = map[string]any{"style": "cursor"}
		}, []string{"settings.datatypes.products.paging.cursor_param: required for paging style cursor",
			"settings.datatypes.products.paging.cursor_field: required for paging style cursor"}},
		{"a get path without {id}", func(s map[string]any) { dig(s, "datatypes.customers.get")["path"] = "/customers" },
			[]string{`settings.datatypes.customers.get.path: want a path with {id}, such as /customers/{id}; got "/customers"`}},
		{"an unknown placeholder", func(s map[string]any) { dig(s, "datatypes.customers.delete")["path"] = "/customers/{uid}" },
			[]string{"settings.datatypes.customers.delete.path: unknown placeholder {uid}: a path may hold {id} and {datatype}"}},
		{"a full update without get", func(s map[string]any) {
			d := dig(s, "datatypes.customers")
			d["get"], d["update"] = false, map[string]any{"method": "PUT", "full": true}
		}, []string{"settings.datatypes.customers.update: a full update or an if_match check reads the record first: it needs get, which is switched off"}},
		{"a method", func(s map[string]any) { dig(s, "datatypes.customers.update")["method"] = "POKE" },
			[]string{`settings.datatypes.customers.update.method: want one of PATCH, PUT, POST; got "POKE"`}},
		{"no datatypes", func(s map[string]any) { delete(s, "datatypes") },
			[]string{"settings.datatypes: required: one block per datatype"}},
		{"a bad envelope path", func(s map[string]any) { dig(s, "datatypes.customers.list")["records"] = "data..items" },
			[]string{`settings.datatypes.customers.list.records: want a dotted path such as links.next or a JSON pointer such as /links/next, got "data..items"`}},
		{"nested lines", func(s map[string]any) {
			dig(s, "datatypes.customers.lines")["addresses"] = map[string]any{"id_field": "no", "read_only": []any{"country"}, "properties": map[string]any{"no": "integer"}}
		}, nil},
		{"nested lines in the defaults", func(s map[string]any) { dig(s, "defaults.lines")["items"] = map[string]any{} },
			[]string{"settings.defaults.lines: nested lines belong to one datatype: set them under settings.datatypes.<name>.lines"}},
		{"nested lines: a member name and a key", func(s map[string]any) {
			l := dig(s, "datatypes.customers.lines")
			l["a.b"] = map[string]any{}
			l["items"] = map[string]any{"idfield": "no"}
		}, []string{`settings.datatypes.customers.lines.a.b: "a.b" is not a member name`,
			"settings.datatypes.customers.lines.items.idfield: unknown setting (nested lines takes id_field, properties, read_only)"}},
		{"nested lines of a read-only member", func(s map[string]any) {
			d := dig(s, "datatypes.customers")
			d["read_only"] = []any{"id", "items"}
			dig(d, "lines")["items"] = nil
		}, []string{"settings.datatypes.customers.lines.items: the record's items is read_only, so its lines could never be written"}},
		{"every problem at once", func(s map[string]any) {
			s["timeout"] = 5
			dig(s, "datatypes.products.insert")["id_from"] = "header"
		}, []string{"2 settings are wrong:", `settings.timeout: want a duration of at least 1s such as "30s" or "2m", got 5`,
			`settings.datatypes.products.insert.id_from: want one of body, location; got "header"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := parseYAML(t, settingsYAML)
			tc.edit(s)
			_, err := rest.ParseSettings("shop", s, env)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error holding %q, got none", tc.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `system "shop" (kind rest): `) {
				t.Errorf("the error does not name the system: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error\n  %s\ndoes not hold\n  %s", msg, w)
				}
			}
			if n := strings.Count(msg, "settings.defaults.changes.overlap"); n > 1 {
				t.Errorf("a wrong default reported %d times: %s", n, msg)
			}
		})
	}
}

// Operations a system does not offer are switched off with false; the
// connector then says ErrNotSupported, and Describe cannot delete.
func TestSettingsSwitchOperationsOff(t *testing.T) {
	t.Parallel()
	s := parseYAML(t, settingsYAML)
	dig(s, "datatypes")["customers"] = map[string]any{"delete": false, "insert": false}
	cfg, err := rest.ParseSettings("shop", s, func(string) (string, bool) { return "x", true })
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Datatypes["customers"]
	if d.Delete != nil || d.Insert != nil || d.Update == nil || d.Get == nil {
		t.Fatalf("customers: delete %v, insert %v, update %v, get %v", d.Delete, d.Insert, d.Update, d.Get)
	}
	if d.Get.Path != "/customers/{id}" || d.Update.Method != "PATCH" || d.ListPath != "/customers" {
		t.Errorf("the defaults: get %q, update %s, list %q", d.Get.Path, d.Update.Method, d.ListPath)
	}
}
