package local

import "iter"

// iterPull is iter.Pull2 with a shape handy in tests.
func iterPull(seq iter.Seq2[[]byte, error]) (next func() ([]byte, error, bool), stop func()) {
	return iter.Pull2(seq)
}
