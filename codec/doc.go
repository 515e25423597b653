// Package codec translates Converse requests and responses to and from the
// native formats of model families and vendor APIs, one format per file
// (openai.go: OpenAI chat completions, model-families.md §5.6 and §5.9).
//
// A codec is a set of pure functions and explicit state values: no I/O, no
// clock, no logging (requests carry user content and are never logged), no
// global state. Failures the caller must see are *converse.Error values
// worded as Bedrock words them.
//
// This package must never import net/http, os or any transport package:
// knowing where a body goes is the transport's job, and keeping codecs pure
// is what lets golden files pin their output byte for byte.
package codec
