package codec_test

import (
	"testing"

	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/codec"
)

// Every family of the catalog has its codec.
func TestEveryCatalogFamilyHasACodec(t *testing.T) {
	for _, f := range catalog.Families() {
		if _, ok := codec.For(f); !ok {
			t.Errorf("no codec for family %q", f)
		}
	}
}
