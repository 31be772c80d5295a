package gctune

import (
	"runtime/debug"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestApplySetsThePaceWithoutGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	apply(env(nil))
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("pace after apply = %d, want %d", got, Percent)
	}
}

func TestApplyLeavesAPaceTheUserSet(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	apply(env(map[string]string{"GOGC": "150"}))
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, apply changed the pace to %d", got)
	}
}
