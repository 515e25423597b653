// Package guard is converse's local guardrail engine: it evaluates Amazon
// Bedrock guardrails itself, with Bedrock's semantics and wire shapes, in
// front of any backend (guardrails.md).
//
// A guardrail is configured in the shape of Bedrock's CreateGuardrail body
// (Guardrail, decodable from JSON with Parse or from YAML with
// go.yaml.in/yaml/v4), checked against Bedrock's limits (Check), then made
// ready with Load, which compiles its word lists and regexes and attaches the
// Classifier the model-judged policies need. Apply evaluates content exactly
// as ApplyGuardrail does and returns ApplyGuardrail's response (Result),
// whose Assessment is also the Converse trace's.
//
// Deterministic policies run here: word filters (custom words and phrases and
// a managed PROFANITY list taken from github.com/TwiN/go-away, MIT licence),
// every PII entity type Bedrock lists (pattern plus checksum or format
// validation where the type has one; context-dependent types are
// best-effort, see piiDetectors) and custom RE2 regexes. Content filters,
// denied topics and contextual grounding are judged by a Classifier; a
// guardrail that uses them fails to load without one, so content is never
// passed unchecked while the guardrail claims to check it. Automated
// reasoning is not implemented and a guardrail using it fails to load.
//
// guard must never import net/http or any transport package: the classifier
// reaches a model only through the function the caller plugs in (Chat), so
// the caller decides which backend judges. It imports the module root only
// for the error kinds of converse.Error.
package guard
