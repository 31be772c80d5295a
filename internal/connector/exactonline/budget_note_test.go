package exactonline

import (
	"strings"
	"testing"
	"time"
)

func TestBudgetNoteOnlyWhenTheDayRunsLow(t *testing.T) {
	reset := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	if n := (BudgetState{Remaining: 4000, Limit: 5000, Reset: reset}).Note(); n != "" {
		t.Fatalf("plenty left, got note %q", n)
	}
	n := (BudgetState{Remaining: 900, Limit: 5000, Reset: reset}).Note()
	if !strings.Contains(n, "900 of 5000") || strings.Contains(n, "held") {
		t.Fatalf("low budget note: %q", n)
	}
	n = (BudgetState{Remaining: 300, Limit: 5000, Reset: reset, WritesHeld: true}).Note()
	if !strings.Contains(n, "writes are held back") {
		t.Fatalf("held writes note: %q", n)
	}
}
