// Package bedrock sends native InvokeModel bodies to real Amazon Bedrock
// through the AWS SDK for Go v2 bedrockruntime client, and brings the
// answers back in the form transport.Invoker promises: the model's bytes,
// Bedrock's token and latency headers, and each PayloadPart of a stream.
//
// The SDK signs requests (SigV4 with the caller's credentials or the
// default chain), decodes event streams and types Bedrock's exceptions;
// this package only maps those onto transport.StatusError and
// transport.ErrTimeout, bounds calls in time, and ends streams when asked.
//
// Like every transport it must never import the module's root package
// converse, codec or wire: it knows where bodies go, not what they mean
// (style.md §2). It is the one package that imports the bedrockruntime
// client for calling out (style.md §1, "keep a dependency's import inside
// one package"). It never logs bodies.
package bedrock
