// Package gctune sets the garbage collector's pace for the concord process.
//
// A sync streams records through short-lived maps and strings: most of what
// a batch allocates is garbage by the next batch, and what stays live (the
// store's page caches, a batch in flight) is small. Go's default pace
// (GOGC=100: collect when the heap has doubled since the last collection)
// then spends a good part of the process's CPU in the collector. Collecting
// at three times the live heap instead (GOGC=200) cut the CPU time of the
// benchmark's initial sync of 100,000 customers from 21.3 and 21.9 s to
// 19.7 and 17.6 s, for 6 to 14 MB more resident memory; GOGC=400 saved no
// more CPU and took 20 MB more again (`go run ./bench -n 100000 -rounds 0`,
// ADR 13). The live heap is bounded by the batch size, not by the
// dataset, so the extra memory is bounded too.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC value Concord runs with unless GOGC is set.
const Percent = 200

// Apply sets the collector's pace to Percent, unless the GOGC environment
// variable is set, in which case the runtime has already applied it and it
// wins. GOMEMLIMIT, when set, still bounds the heap as usual.
func Apply() { apply(os.LookupEnv) }

func apply(lookupEnv func(string) (string, bool)) {
	if _, ok := lookupEnv("GOGC"); ok {
		return
	}
	debug.SetGCPercent(Percent)
}
