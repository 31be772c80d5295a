//go:build !race

package exactonline

const raceEnabled = false
