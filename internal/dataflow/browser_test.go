package dataflow

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumNames are the executables tried, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"}

func findChromium() string {
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// pageFacts is what the browser reports of a rendered document.
type pageFacts struct {
	Title     string       `json:"title"`
	H1        string       `json:"h1"`
	Generated string       `json:"generated"`
	H2        []string     `json:"h2"`
	Tables    []tableFacts `json:"tables"`
}

type tableFacts struct {
	Section    string `json:"section"`
	Headers    int    `json:"headers"`
	Rows       int    `json:"rows"`
	BadRows    int    `json:"badRows"`    // rows whose cell count is not the header's
	EmptyCells int    `json:"emptyCells"` // cells without text
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Bordered   bool   `json:"bordered"`
}

const factsScript = `(() => {
  const text = e => (e ? e.textContent.trim() : "");
  return {
    title: document.title,
    h1: text(document.querySelector("h1")),
    generated: text(document.querySelector("p.generated")),
    h2: [...document.querySelectorAll("h2")].map(text),
    tables: [...document.querySelectorAll("table")].map(t => {
      const headers = t.querySelectorAll("thead th").length;
      const rows = [...t.querySelectorAll("tbody tr")];
      const cells = [...t.querySelectorAll("tbody td")];
      const box = t.getBoundingClientRect();
      const td = t.querySelector("td");
      return {
        section: text(t.closest("section") && t.closest("section").querySelector("h2")),
        headers: headers,
        rows: rows.length,
        badRows: rows.filter(r => r.children.length !== headers).length,
        emptyCells: cells.filter(c => c.textContent.trim() === "").length,
        width: Math.round(box.width),
        height: Math.round(box.height),
        bordered: !!td && getComputedStyle(td).borderTopStyle !== "none",
      };
    }),
  };
})()`

// TestHTMLRendersInChromium opens every golden HTML document in a headless
// Chromium and checks, through the DOM, that the title, each section
// heading and each table render, and that no table is empty. It needs a
// Chromium on PATH (apt-get install chromium); without one it skips, unless
// CONCORD_REQUIRE_SERVICES=1 (CI), where it fails.
func TestHTMLRendersInChromium(t *testing.T) {
	exe := findChromium()
	if exe == "" {
		msg := "no Chromium on PATH (looked for " + strings.Join(chromiumNames, ", ") + "); install one, e.g. apt-get install chromium"
		if os.Getenv("CONCORD_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " (CONCORD_REQUIRE_SERVICES=1 makes this a failure)")
		}
		t.Skip(msg + "; skipping the browser check of the HTML documents")
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe),
		// The page is a local file of ours; CI runs as root, where
		// Chromium's sandbox refuses to start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	// One browser for every document. Its first call must run without a
	// deadline, which would stop the browser itself.
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}

	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			doc, err := Build(compile(t, f.config), f.source, f.target, generatedAt)
			if err != nil {
				t.Fatal(err)
			}
			path, err := filepath.Abs(filepath.Join("testdata", f.name+".html"))
			if err != nil {
				t.Fatal(err)
			}
			// A guard against a browser that hangs, not a measurement.
			ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
			defer cancel()
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path)); err != nil {
				t.Fatalf("load %s: %v", path, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](factsScript))
			if err != nil {
				t.Fatalf("read the DOM of %s: %v", path, err)
			}
			if got.Title != doc.Title || got.H1 != doc.Title {
				t.Errorf("title %q, heading %q, want %q", got.Title, got.H1, doc.Title)
			}
			if want := "Generated: " + generatedAt.Format(GeneratedLayout); got.Generated != want {
				t.Errorf("generated line %q, want %q", got.Generated, want)
			}
			if want := append([]string{"Introduction"}, titles(doc)...); !slices.Equal(got.H2, want) {
				t.Errorf("section headings\n%s\nwant\n%s", strings.Join(got.H2, "\n"), strings.Join(want, "\n"))
			}
			if want := countTables(doc); len(got.Tables) != want {
				t.Errorf("%d tables rendered, want %d", len(got.Tables), want)
			}
			withProperties := map[string]bool{}
			for i, tab := range got.Tables {
				switch {
				case tab.Rows == 0:
					t.Errorf("table %d (%s) has no rows", i+1, tab.Section)
				case tab.Headers == 0 || tab.BadRows > 0:
					t.Errorf("table %d (%s): %d header cells, %d rows with another number of cells", i+1, tab.Section, tab.Headers, tab.BadRows)
				case tab.EmptyCells > 0:
					t.Errorf("table %d (%s) has %d empty cells", i+1, tab.Section, tab.EmptyCells)
				case tab.Width == 0 || tab.Height == 0 || !tab.Bordered:
					t.Errorf("table %d (%s) does not show: %dx%d px, bordered %v", i+1, tab.Section, tab.Width, tab.Height, tab.Bordered)
				}
				if tab.Headers == 3 {
					withProperties[tab.Section] = true
				}
			}
			for _, s := range doc.Sections {
				if !withProperties[s.Title] {
					t.Errorf("section %q shows no property table", s.Title)
				}
			}
		})
	}
}

func countTables(doc *Document) int {
	n := 0
	for _, s := range doc.Sections {
		for _, b := range s.Blocks {
			if b.Table != nil {
				n++
			}
		}
	}
	return n
}
