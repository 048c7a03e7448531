//go:build race

package interop

// raceEnabled: the tests run with the race detector, so the posthorn
// binary is built with it too.
const raceEnabled = true
