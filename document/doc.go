// Package document extracts the plain text of the documents a Converse
// request carries (DocumentBlock, wire-protocol.md §3.3), so that backends
// whose native format has no document block — OpenAI chat completions among
// them — can still show the model what the document says.
//
// Extraction is a pure function of the bytes: no I/O beyond reading the
// in-memory data, no logging (documents are user content and are never
// logged), and garbage input yields an error, never a panic.
//
// This package must never import converse, codec, transport or net/http: it
// knows file formats, not where a document came from or goes to.
package document
