// Package upstreamtest runs fake upstream model servers on 127.0.0.1 for
// tests, each speaking one vendor's real wire format, rejecting requests the
// real server would reject, recording what it received, and answering with
// replies and faults scripted by the test:
//
//   - NewOpenAI: OpenAI chat completions, JSON and server-sent events
//     (model-families.md §5.6), as OpenAI-compatible servers speak it;
//   - NewCompletions: OpenAI's /v1/completions and Ollama's /api/generate
//     (§5.6, §5.8), for prompt-template families;
//   - NewAnthropic: Anthropic's Messages and legacy Complete APIs (§5.1);
//   - NewCohere: Cohere's Chat API v1 (§5.2);
//   - NewMistral and NewAI21: Mistral's and AI21's chat APIs (§5.4, §5.5);
//   - NewBedrock: Amazon Bedrock Runtime's InvokeModel and
//     InvokeModelWithResponseStream (wire-protocol.md §2.3, §2.4, §4).
//
// It stands in for a remote vendor, never for a package of ours (style.md
// §3), so it is written against the vendor's wire format only: it must
// never import converse, codec, transport or backend packages, which would
// let a shared bug pass on both sides. It is imported only from _test.go
// files; nothing in the server binary may depend on it.
package upstreamtest
