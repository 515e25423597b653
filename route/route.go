package route

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/catalog"
)

// Wildcard is the Entry ID that serves every catalog model without an entry
// of its own.
const Wildcard = "*"

// Entry routes one model ID to a backend.
type Entry struct {
	// ID is a catalog base ID, Wildcard, or a custom ID outside the catalog.
	// Profiles and ARNs of a catalog model route to its base ID's entry, so
	// they are not valid entry IDs.
	ID string
	// Kind names the backend for listings ("openai", "test"); informational.
	Kind string
	// Backend serves the model; required.
	Backend converse.Backend
	// Features overrides what requests are validated against. Nil means the
	// catalog's features for a catalog model (for Wildcard: each model's own)
	// and converse.AllFeatures for a custom ID.
	Features *converse.Features
}

// Table is the model table. It is immutable and safe for concurrent use.
type Table struct {
	byID     map[string]Entry
	wildcard *Entry
}

// Served is one model the table serves, for listings.
type Served struct {
	ID       string // catalog base ID or custom ID
	Name     string // catalog name; "" for a custom ID
	Kind     string // Entry.Kind of the serving entry
	Custom   bool   // the ID is outside the catalog
	Features converse.Features
}

// New builds a table from entries. It rejects an empty or duplicate ID, a
// nil Backend, and an ID that is a catalog model's profile or ARN rather than
// its base ID, reporting every problem at once.
func New(entries []Entry) (*Table, error) {
	t := &Table{byID: make(map[string]Entry, len(entries))}
	var errs []error
	for i, e := range entries {
		switch _, dup := t.byID[e.ID]; {
		case e.ID == "":
			errs = append(errs, fmt.Errorf("route: entry %d: empty model ID", i))
			continue
		case dup || e.ID == Wildcard && t.wildcard != nil:
			errs = append(errs, fmt.Errorf("route: entry %d: model ID %q listed twice", i, e.ID))
			continue
		case e.Backend == nil:
			errs = append(errs, fmt.Errorf("route: entry %d (%q): no backend", i, e.ID))
			continue
		}
		if e.ID == Wildcard {
			t.wildcard = &e
			continue
		}
		if m, ok := catalog.Resolve(e.ID); ok && m.ID != e.ID {
			errs = append(errs, fmt.Errorf("route: entry %d: %q is a profile or ARN of %q; use the base model ID", i, e.ID, m.ID))
			continue
		}
		t.byID[e.ID] = e
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Route returns the backend serving modelID and the features its requests are
// validated against. Its errors are *converse.Error with Bedrock's kinds and
// messages (see the package documentation).
func (t *Table) Route(modelID string) (converse.Backend, converse.Features, error) {
	e, f, err := t.entry(modelID)
	if err != nil {
		return nil, converse.Features{}, err
	}
	return e.Backend, f, nil
}

// MsgNoInvoke answers InvokeModel for a model whose backend has no native
// format to pass bodies through (the openai and test backends).
const MsgNoInvoke = "InvokeModel isn't supported for this model on this server. Use Converse, or serve the model from a backend that speaks its native format."

// RouteInvoke returns what serves InvokeModel and
// InvokeModelWithResponseStream for modelID: the routed backend, when it
// also implements converse.Invoker. It resolves IDs and fails exactly as
// Route does, and with a ValidationException (MsgNoInvoke) when the backend
// cannot pass native bodies through.
func (t *Table) RouteInvoke(modelID string) (converse.Invoker, error) {
	e, _, err := t.entry(modelID)
	if err != nil {
		return nil, err
	}
	inv, ok := e.Backend.(converse.Invoker)
	if !ok {
		return nil, converse.Errorf(converse.KindValidation, "%s", MsgNoInvoke)
	}
	return inv, nil
}

func (t *Table) entry(modelID string) (Entry, converse.Features, error) {
	m, inCatalog := catalog.Resolve(modelID)
	if !inCatalog {
		if e, ok := t.byID[modelID]; ok {
			return e, features(e, converse.AllFeatures), nil
		}
		return Entry{}, converse.Features{}, converse.Errorf(converse.KindValidation, "%s", converse.MsgInvalidModelID)
	}
	if m.ProfileOnly && !catalog.IsProfile(modelID) {
		return Entry{}, converse.Features{}, converse.Errorf(converse.KindValidation,
			"Invocation of model ID %s with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.", m.ID)
	}
	e, ok := t.byID[m.ID]
	if !ok {
		if t.wildcard == nil {
			return Entry{}, converse.Features{}, converse.Errorf(converse.KindAccessDenied, "%s", converse.MsgAccessDenied)
		}
		e = *t.wildcard
	}
	return e, features(e, m.Features), nil
}

// Models lists every model the table serves, sorted by ID: the entries'
// catalog and custom IDs, and with a Wildcard entry every other catalog model.
func (t *Table) Models() []Served {
	var out []Served
	for _, m := range catalog.All() {
		e, ok := t.byID[m.ID]
		if !ok && t.wildcard == nil {
			continue
		}
		if !ok {
			e = *t.wildcard
		}
		out = append(out, Served{ID: m.ID, Name: m.Name, Kind: e.Kind, Features: features(e, m.Features)})
	}
	for id, e := range t.byID {
		if _, ok := catalog.Lookup(id); !ok {
			out = append(out, Served{ID: id, Kind: e.Kind, Custom: true, Features: features(e, converse.AllFeatures)})
		}
	}
	slices.SortFunc(out, func(a, b Served) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func features(e Entry, def converse.Features) converse.Features {
	if e.Features != nil {
		return *e.Features
	}
	return def
}
