//go:build race

package exactonline

// raceEnabled: the race detector makes every HTTP round trip some ten
// times slower, so the heaviest tests shrink under it.
const raceEnabled = true
