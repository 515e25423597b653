package wire

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine (a stream, a connection, a
// backend's sequence) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
