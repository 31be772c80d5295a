//go:build race

package rest_test

// raceEnabled: the race detector makes every HTTP round trip some ten
// times slower, so the measurement shrinks under it.
const raceEnabled = true
