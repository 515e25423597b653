package guard

import (
	"context"
	"iter"

	"github.com/converse-project/converse"
)

// invokerBackend is a Backend whose Inner also serves InvokeModel.
type invokerBackend struct {
	*Backend
	inner converse.Invoker
}

// Invoke implements converse.Invoker.
func (b *invokerBackend) Invoke(ctx context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
	return b.inner.Invoke(ctx, req)
}

// InvokeStream implements converse.Invoker.
func (b *invokerBackend) InvokeStream(ctx context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
	return b.inner.InvokeStream(ctx, req)
}
