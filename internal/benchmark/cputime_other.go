//go:build !unix

package benchmark

import "time"

// CPUTime is not measured here: the column stays empty.
func CPUTime() time.Duration { return 0 }
