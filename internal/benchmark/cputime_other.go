//go:build !unix

package benchmark

import "time"

// cpuTime is not measured here: the column stays empty.
func cpuTime() time.Duration { return 0 }
