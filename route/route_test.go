package route

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/catalog"
)

// backend is a named stand-in: route only hands backends out, never calls them.
type backend struct{ name string }

func (b *backend) Converse(context.Context, *converse.Request) (*converse.Response, error) {
	return nil, errors.New("not called")
}

func (b *backend) ConverseStream(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	return nil, errors.New("not called")
}

const (
	haiku    = "anthropic.claude-3-haiku-20240307-v1:0"
	sonnetV2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
	titan    = "amazon.titan-text-express-v1"
)

func TestRoute(t *testing.T) {
	upstream, fallback, custom := &backend{"upstream"}, &backend{"fallback"}, &backend{"custom"}
	narrow := converse.Features{Chat: true}
	withWildcard, err := New([]Entry{
		{ID: haiku, Kind: "openai", Backend: upstream},
		{ID: "my-model", Kind: "test", Backend: custom},
		{ID: "narrow/model:1", Kind: "test", Backend: custom, Features: &narrow},
		{ID: Wildcard, Kind: "test", Backend: fallback},
	})
	if err != nil {
		t.Fatal(err)
	}
	without, err := New([]Entry{{ID: haiku, Backend: upstream}, {ID: sonnetV2, Backend: upstream}})
	if err != nil {
		t.Fatal(err)
	}
	catalogFeatures := func(id string) converse.Features { m, _ := catalog.Lookup(id); return m.Features }
	onDemand := "Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."

	tests := []struct {
		name     string
		table    *Table
		id       string
		backend  *backend
		features converse.Features
		kind     converse.ErrorKind
		msg      string // "" when routed
	}{
		{"base id with its own entry", withWildcard, haiku, upstream, catalogFeatures(haiku), 0, ""},
		{"profile routes to the base id's entry", withWildcard, "eu." + haiku, upstream, catalogFeatures(haiku), 0, ""},
		{"foundation-model arn routes to the base id's entry", withWildcard, "arn:aws:bedrock:us-east-1::foundation-model/" + haiku, upstream, catalogFeatures(haiku), 0, ""},
		{"inference-profile arn routes to the base id's entry", withWildcard, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + haiku, upstream, catalogFeatures(haiku), 0, ""},
		{"other catalog model falls to the wildcard", withWildcard, titan, fallback, catalogFeatures(titan), 0, ""},
		{"custom id gets all features", withWildcard, "my-model", custom, converse.AllFeatures, 0, ""},
		{"custom id with narrowed features", withWildcard, "narrow/model:1", custom, narrow, 0, ""},
		{"profile of a custom id is unknown", withWildcard, "us.my-model", nil, converse.Features{}, converse.KindValidation, converse.MsgInvalidModelID},
		{"unknown id is invalid", withWildcard, "acme.unknown-v1", nil, converse.Features{}, converse.KindValidation, converse.MsgInvalidModelID},
		{"malformed arn is invalid", withWildcard, "arn:aws:bedrock:us-east-1::foundation-model", nil, converse.Features{}, converse.KindValidation, converse.MsgInvalidModelID},
		{"profile-only bare id is rejected", withWildcard, sonnetV2, nil, converse.Features{}, converse.KindValidation, onDemand},
		{"profile-only foundation-model arn is rejected", withWildcard, "arn:aws:bedrock:us-west-2::foundation-model/" + sonnetV2, nil, converse.Features{}, converse.KindValidation, onDemand},
		{"profile-only through a profile is served", withWildcard, "us." + sonnetV2, fallback, catalogFeatures(sonnetV2), 0, ""},
		{"profile-only with own entry through a profile", without, "apac." + sonnetV2, upstream, catalogFeatures(sonnetV2), 0, ""},
		{"catalog model without entry or wildcard is denied", without, titan, nil, converse.Features{}, converse.KindAccessDenied, converse.MsgAccessDenied},
		{"profile-only check comes before access", without, "anthropic.claude-3-5-haiku-20241022-v1:0", nil, converse.Features{}, converse.KindValidation,
			strings.Replace(onDemand, sonnetV2, "anthropic.claude-3-5-haiku-20241022-v1:0", 1)},
		{"unknown id without wildcard is invalid", without, "my-model", nil, converse.Features{}, converse.KindValidation, converse.MsgInvalidModelID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, f, err := tt.table.Route(tt.id)
			if tt.msg != "" {
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != tt.kind || ce.Message != tt.msg {
					t.Fatalf("error = %v, want %v: %q", err, tt.kind, tt.msg)
				}
				if b != nil {
					t.Errorf("backend %v returned with an error", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b != tt.backend {
				t.Errorf("backend = %v, want %s", b, tt.backend.name)
			}
			if f != tt.features {
				t.Errorf("features = %+v, want %+v", f, tt.features)
			}
		})
	}
}

func TestNewRejectsBadEntries(t *testing.T) {
	b := &backend{"b"}
	tests := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"empty id", []Entry{{Backend: b}}, "empty model ID"},
		{"duplicate id", []Entry{{ID: haiku, Backend: b}, {ID: haiku, Backend: b}}, "listed twice"},
		{"two wildcards", []Entry{{ID: Wildcard, Backend: b}, {ID: Wildcard, Backend: b}}, "listed twice"},
		{"no backend", []Entry{{ID: haiku}}, "no backend"},
		{"profile id", []Entry{{ID: "us." + haiku, Backend: b}}, "use the base model ID"},
		{"arn", []Entry{{ID: "arn:aws:bedrock:us-east-1::foundation-model/" + haiku, Backend: b}}, "use the base model ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("every problem is reported", func(t *testing.T) {
		_, err := New([]Entry{{Backend: b}, {ID: haiku}})
		if err == nil || !strings.Contains(err.Error(), "empty model ID") || !strings.Contains(err.Error(), "no backend") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestModels(t *testing.T) {
	b := &backend{"b"}
	tbl, err := New([]Entry{{ID: haiku, Kind: "openai", Backend: b}, {ID: "zz-custom", Kind: "test", Backend: b}})
	if err != nil {
		t.Fatal(err)
	}
	got := tbl.Models()
	if len(got) != 2 || got[0].ID != haiku || got[0].Kind != "openai" || got[0].Name != "Claude 3 Haiku" || got[0].Custom ||
		got[1].ID != "zz-custom" || !got[1].Custom || got[1].Features != converse.AllFeatures {
		t.Errorf("Models() = %+v", got)
	}

	all, err := New([]Entry{{ID: Wildcard, Kind: "test", Backend: b}, {ID: "a-custom", Kind: "test", Backend: b}})
	if err != nil {
		t.Fatal(err)
	}
	served := all.Models()
	if len(served) != len(catalog.All())+1 || served[0].ID != "a-custom" {
		t.Errorf("wildcard table serves %d models (first %q), want the catalog's %d plus one custom", len(served), served[0].ID, len(catalog.All()))
	}
}

// invoker is a stand-in backend that also serves InvokeModel.
type invoker struct{ backend }

func (i *invoker) Invoke(context.Context, *converse.InvokeRequest) (*converse.InvokeResponse, error) {
	return nil, errors.New("not called")
}

func (i *invoker) InvokeStream(context.Context, *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
	return nil, errors.New("not called")
}

func TestRouteInvoke(t *testing.T) {
	native := &invoker{backend{"native"}}
	table, err := New([]Entry{{ID: haiku, Backend: native}, {ID: titan, Backend: &backend{"chat only"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id string
		want     converse.Invoker
		kind     converse.ErrorKind
		msg      string
	}{
		{"a native backend by profile", "us." + haiku, native, 0, ""},
		{"a backend without native bodies", titan, nil, converse.KindValidation, MsgNoInvoke},
		{"a catalog model without a backend", "cohere.command-r-v1:0", nil, converse.KindAccessDenied, converse.MsgAccessDenied},
		{"an unknown ID", "acme.nothing", nil, converse.KindValidation, converse.MsgInvalidModelID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := table.RouteInvoke(tc.id)
			if tc.want != nil {
				if err != nil || got != tc.want {
					t.Fatalf("RouteInvoke = %v, %v", got, err)
				}
				return
			}
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != tc.kind || ce.Message != tc.msg {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
