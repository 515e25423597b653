// Package catalog lists the foundation models Converse serves, as data: one
// row per base model ID with its provider, its codec family and the Converse
// features AWS documents for it ("Supported models and model features",
// ../shared/spec/model-families.md §3.1; IDs from wire-protocol.md §7.2).
//
// Resolve maps every form a caller may put in a request's {modelId} (base ID,
// cross-Region inference-profile ID, foundation-model ARN, inference-profile
// ARN; wire-protocol.md §7.1) back to a catalog row by parsing the ID's shape
// and looking the base ID up in the table. Nothing here branches on
// substrings of model names: adding a model is adding a row.
//
// The package is pure data and parsing. It must never import another package
// of this module except the root converse package (for converse.Features),
// nor net/http: the router, the configuration and the codecs all read it.
package catalog
