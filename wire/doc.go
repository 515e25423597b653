// Package wire is the HTTP face of the server: it speaks Amazon Bedrock
// Runtime's restJson1 wire protocol (../shared/spec/wire-protocol.md) so the
// official AWS SDKs work against it unchanged.
//
// It owns the route table (POST /model/{modelId}/converse, /converse-stream,
// /invoke and /invoke-with-response-stream, and ApplyGuardrail's
// /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply), reads and decodes request
// bodies into converse.Request (or, for the invoke operations, checks the
// headers and passes the native body through as a converse.InvokeRequest),
// encodes converse.Response and stream events, writes
// application/vnd.amazon.eventstream frames with the AWS SDK's encoder, and
// holds the one table that maps a converse.ErrorKind to Bedrock's exception
// name, HTTP status and event-stream member. No other package names an
// exception or a status code.
//
// It reaches models only through the Router and InvokeRouter seams,
// converse.Backend and converse.Invoker, and guardrails through the
// Guardrails seam, so it
// must never import codec, transport/…, route, config, engine or any backend
// package: the wire format must not depend on where a request goes.
package wire
