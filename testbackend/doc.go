// Package testbackend is the built-in test backend: a converse.Backend that
// answers from canned replies and injects Bedrock's failures on demand, so
// that users can run their own test suites against converse offline, with no
// model behind it.
//
// # Replies
//
// Config.Replies is tried in order; the first Reply whose Match is a
// substring of the last user message's text (its text blocks joined with
// "\n"; "" matches everything) answers. When none matches, or the matching
// reply has neither Text nor ToolUse, the backend echoes: the reply is
// "You said: " followed by the last user text with any fault marker removed
// and surrounding space trimmed ("You said nothing." when that is empty).
//
// A reply with ToolUse calls that tool after its Text (if any), with a
// deterministic toolUseId derived from the tool, its input and the user text,
// and stops with tool_use. The tool call is made whether or not the request
// declared the tool: declaring it is the test suite's business.
//
// # Streaming, limits and usage
//
// ConverseStream sends the text word by word: each contentBlockDelta is one
// word plus the white space after it (the first also carries any leading
// space), so the deltas concatenate to the exact text. ChunkDelay is waited
// before every text delta (and, in total, before Converse answers), and the
// wait ends early with the context's error when ctx is cancelled.
//
// inferenceConfig.stopSequences cuts the text just before the earliest
// occurrence of any of them (stopReason stop_sequence); inferenceConfig.maxTokens
// then keeps at most that many words (stopReason max_tokens). A cut reply
// makes no tool call. Otherwise the stop reason is the reply's StopReason,
// tool_use for a tool call, or end_turn.
//
// Usage is an approximation, deterministic so that tests can pin it: input
// tokens are the white-space separated words of every system text, message
// text, tool-use input and tool-result text or JSON; output tokens are the
// words sent plus the words of a tool call's input.
//
// # Faults
//
// A reply's Fault, or a marker "[[fault:NAME]]" anywhere in the last user
// text (which overrides it, so one running server can exercise every fault),
// makes the request fail the way Bedrock fails:
//
//	throttling           ThrottlingException          "Too many requests, please wait before trying again."
//	model_error          ModelErrorException          "The model returned an error. Try your request again." (originalStatusCode 500)
//	model_timeout        ModelTimeoutException        "Model has timed out in processing the request. Try your request again."
//	service_unavailable  ServiceUnavailableException  "Bedrock is unable to process your request."
//	internal             InternalServerException      "The system encountered an unexpected error during processing. Try your request again."
//	model_not_ready      ModelNotReadyException       "Model is not ready to serve inference requests. Try your request again later."
//	validation           ValidationException          "The model returned the following errors: Input is too long for requested model."
//	stream_cut           see below
//
// Converse returns the error; ConverseStream returns it before streaming
// anything. stream_cut is the exception: ConverseStream starts the reply,
// sends CutAfter text deltas (or all of them, if there are fewer) and then
// ends with a ModelStreamErrorException; Converse treats stream_cut as
// model_error. The marker form "[[fault:stream_cut:N]]" sets CutAfter to N.
// An unknown fault name in a marker is answered with a ValidationException
// naming the known faults.
//
// Nothing the user sends is logged. The package starts no goroutines.
//
// This package must never import another package of this module except the
// root converse package: it is a backend like any other, wired in by main.
package testbackend
