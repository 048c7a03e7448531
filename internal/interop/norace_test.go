//go:build !race

package interop

// raceEnabled: the tests run without the race detector.
const raceEnabled = false
