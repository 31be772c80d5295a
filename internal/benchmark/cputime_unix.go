//go:build unix

package benchmark

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time (user and system) the process has used, on every
// core. Beside wall time it tells what a phase cost on a shared machine,
// where other processes stretch the wall clock.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
