// Package upstreamtest runs fake upstream model servers on 127.0.0.1 for
// tests: NewOpenAI speaks the OpenAI chat completions API (JSON and
// server-sent events, model-families.md §5.6) as OpenAI-compatible servers
// do, rejects requests a real server would reject, records what it
// received, and answers with replies and faults scripted by the test.
//
// It stands in for a remote vendor, never for a package of ours (style.md
// §3), so it is written against the vendor's wire format only: it must
// never import converse, codec, transport or backend packages, which would
// let a shared bug pass on both sides. It is imported only from _test.go
// files; nothing in the server binary may depend on it.
package upstreamtest
