package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that every error it
// reports can be found: it has a line, or it is about the whole file.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil {
			if cfg == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("error is %T, want Errors: %v", err, err)
		}
		if len(errs) == 0 {
			t.Fatal("Parse failed with an empty error list")
		}
		for _, e := range errs {
			// A problem inside a built-in preset the input names is shown
			// where the preset's row is.
			if e.File != "fuzz.yaml" && !strings.HasPrefix(e.File, "preset/") {
				t.Errorf("error names file %q: %v", e.File, e)
			}
			if e.Line < 1 && (e.Line != 0 || e.Column != 0 || e.Path != "") {
				t.Errorf("error has no line and is not a whole-file error: %#v", e)
			}
			if e.Message == "" {
				t.Errorf("error without a message: %#v", e)
			}
		}
	})
}
