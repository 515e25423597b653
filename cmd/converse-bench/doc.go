// Command converse-bench measures what converse costs on the Bedrock
// Converse path, end to end on one machine, against the physical floor of
// any proxy hop measured in the same run (issue 5; docs/performance.md
// holds the method and a run's table).
//
//	go run ./cmd/converse-bench [-duration 45s] [-rounds 5] [-concurrency 64]
//	                            [-chunks 200] [-idle 1000] [-delay 0]
//
// It starts, all on 127.0.0.1:
//
//   - a fast OpenAI-compatible chat server in this process (JSON and
//     server-sent events; zero delay unless -delay says otherwise; a "hold"
//     model that sends one chunk and then keeps the stream open);
//   - a bare httputil.ReverseProxy in front of it, in a subprocess (this
//     binary re-executed as "converse-bench proxy") so that its CPU time
//     and memory can be read from /proc;
//   - converse itself, built with go build into a temporary directory and
//     run as "converse serve" with a generated configuration that routes
//     the model IDs bench-fast and bench-hold to backend openai at the
//     fast server;
//
// and drives them with Go HTTP clients from this process, alternating the
// configurations round by round so that drift on the machine falls on all
// of them alike. Every phase is bounded in time and in count.
//
// Converse requests are sent as raw HTTP carrying the bytes and headers the
// AWS SDK for Go v2 sends (its JSON, its user agent, a SigV4-shaped
// Authorization header converse does not yet check); the SDK's own client
// side cost (signing, deserialising) is left out because it is the same
// whatever serves the call, and leaving it out keeps the load generator
// from starving the processes it measures on a small machine.
//
// This command must never import upstreamtest (its fakes need a
// testing.TB); it may import any other package of the module.
package main
