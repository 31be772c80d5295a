package engine

import (
	"context"

	"github.com/concordsync/concord/internal/mapping"
)

// mergeLines merges pending line records of a separate lines datatype.
func (e *Engine) mergeLines(ctx context.Context, m *mapping.Mapping) (Report, error) {
	return Report{}, nil
}
