// Package backend implements converse.Backend for upstream model APIs by
// joining a codec (the format) with a transport (the destination):
// OpenAIChat serves Converse from any OpenAI-compatible chat completions
// server. errors.go maps what an upstream answers or fails with to the
// Bedrock exception a caller of Converse would get, for every backend.
//
// This package holds glue only: translation lives in codec, HTTP in
// transport. It must never import wire (the HTTP face), route or config
// (main wires backends into routes), nor log request or response content.
package backend
