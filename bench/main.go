// Command bench prints the engine's performance figures: initial sync of N
// customers between two memory systems (half on both sides, matched), then
// rounds of 1% changes and a round without changes, on the SQLite store.
// Each N runs in its own process so that peak RSS is per N.
//
//	go run ./bench                  # N = 10k, 100k, 1M
//	go run ./bench -n 10000,100000  # chosen sizes
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/concordsync/concord/internal/benchmark"
	"github.com/concordsync/concord/internal/gctune"
)

type line struct {
	Results []benchmark.Result
	PeakRSS int64
	// SystemsRSS is the resident size once the two in-process systems are
	// seeded, before the sync: the systems' own data, not Concord's.
	SystemsRSS int64
	Err        string
}

func main() {
	sizes := flag.String("n", "10000,100000,1000000", "comma-separated dataset sizes")
	one := flag.Int("one", 0, "run one size in this process and print JSON (used by the parent)")
	storeKind := flag.String("store", "sqlite", "store: sqlite or memory")
	rounds := flag.Int("rounds", 3, "rounds of 1% changes")
	flag.Parse()
	if *one > 0 {
		runOne(*one, *storeKind, *rounds)
		return
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tphase\trecords\tseconds\tCPU s\trecords/s\tstore reads s\tstore writes s\tstore-bound records/s\tallocs/record\twrites\tpeak RSS MB\tsystems' data MB\t")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad size:", s)
			os.Exit(2)
		}
		exe, _ := os.Executable()
		cmd := exec.Command(exe, "-one", strconv.Itoa(n), "-store", *storeKind, "-rounds", strconv.Itoa(*rounds))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		var l line
		if jerr := json.Unmarshal(out, &l); jerr != nil || err != nil || l.Err != "" {
			fmt.Fprintf(os.Stderr, "N=%d failed: %v %v %s\n", n, err, jerr, l.Err)
			os.Exit(1)
		}
		for _, r := range l.Results {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f\t%.2f\t%.0f\t%.2f\t%.2f\t%.0f\t%.1f\t%d\t%.0f\t%.0f\t\n", r.N, r.Phase, r.Records, r.Seconds, r.CPUSeconds, r.RecordsPerSec,
				r.Store.Reads.Seconds(), r.Store.Writes.Seconds(), r.StoreBound, r.AllocsPerRec, r.Writes,
				float64(l.PeakRSS)/(1<<20), float64(l.SystemsRSS)/(1<<20))
		}
		tw.Flush()
	}
}

func runOne(n int, storeKind string, rounds int) {
	gctune.Apply() // as the concord binary runs
	ctx := context.Background()
	var l line
	defer func() {
		l.PeakRSS = benchmark.PeakRSS()
		w := bufio.NewWriter(os.Stdout)
		json.NewEncoder(w).Encode(l)
		w.Flush()
	}()
	dir, err := os.MkdirTemp("", "concord-bench-")
	if err != nil {
		l.Err = err.Error()
		return
	}
	defer os.RemoveAll(dir)
	s, err := benchmark.New(ctx, n, storeKind, dir)
	if err != nil {
		l.Err = err.Error()
		return
	}
	defer s.Close()
	runtime.GC()
	l.SystemsRSS = benchmark.RSS()
	r, err := s.Measure(ctx, "initial sync", n)
	if err != nil {
		l.Err = err.Error()
		return
	}
	l.Results = append(l.Results, r)
	for i := 0; i < rounds; i++ {
		k := s.Change(0.01)
		r, err := s.Measure(ctx, fmt.Sprintf("1%% changes #%d", i+1), k)
		if err != nil {
			l.Err = err.Error()
			return
		}
		l.Results = append(l.Results, r)
	}
	r, err = s.Measure(ctx, "no changes", 0)
	if err != nil {
		l.Err = err.Error()
		return
	}
	l.Results = append(l.Results, r)
}
