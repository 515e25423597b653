// Package converse holds the Amazon Bedrock Converse data model: the request
// and response of Converse and ConverseStream, the stream events, the error
// kinds a request can end in, and the Backend contract every model backend
// implements.
//
// The types mirror Bedrock's JSON shapes field for field (service model
// bedrock-runtime 2023-09-30, see ../shared/spec/wire-protocol.md §3), so that
// encoding/json reads and writes the wire form directly. Bedrock's tagged
// unions (ContentBlock, SystemContentBlock, ImageSource, …) are structs of
// pointers of which exactly one may be set; Validate reports a union with
// zero or several members the way Bedrock does.
//
// This package must never import another package of this module, nor
// net/http: it is the vocabulary the wire layer, the router and every codec
// share, and it knows nothing of where a request came from or goes to.
package converse
