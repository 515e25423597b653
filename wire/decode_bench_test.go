package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/converse-project/converse"
)

// Converse bodies as the AWS SDK for Go v2 serializes them (compact JSON,
// members in model order).
const (
	benchChatBody = `{"inferenceConfig":{"maxTokens":512,"temperature":0.5},"messages":[{"content":[{"text":"Summarise the plot of Hamlet in three sentences, naming the main characters and how each of them dies."}],"role":"user"}],"system":[{"text":"You are a concise literary assistant. Answer in plain prose."}]}`
	benchToolBody = `{"messages":[{"content":[{"text":"What is the weather in Rome?"}],"role":"user"},{"content":[{"text":"Let me check."},{"toolUse":{"input":{"city":"Rome","unit":"celsius"},"name":"get_weather","toolUseId":"call_abc123"}}],"role":"assistant"},{"content":[{"toolResult":{"content":[{"json":{"sky":"clear","temperature":21}},{"text":"Source: test."}],"toolUseId":"call_abc123"}},{"text":"Thanks. Anything else?"}],"role":"user"}],"toolConfig":{"tools":[{"toolSpec":{"description":"Current weather for a city.","inputSchema":{"json":{"properties":{"city":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"],"type":"string"}},"required":["city"],"type":"object"}},"name":"get_weather"}}]}}`
)

// noRouter routes nothing: the benchmarks below stop before routing.
type noRouter struct{}

func (noRouter) Route(string) (converse.Backend, converse.Features, error) {
	return nil, converse.Features{}, errors.New("wire: benchmark: no routes")
}

// BenchmarkDecodeRequest measures what happens to a Converse request before
// the backend is called: "json" is the decoding alone (json.Unmarshal into
// converse.Request, as readRequest does it); "read+validate" is the
// handler's readRequest (model ID and Content-Type checks, body read under
// the size limit, decode) followed by converse.Validate.
func BenchmarkDecodeRequest(b *testing.B) {
	h := NewHandler(Options{Router: noRouter{}, Logger: slog.New(slog.DiscardHandler)}).(*handler)
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"chat", []byte(benchChatBody)},
		{"tool round trip", []byte(benchToolBody)},
	} {
		b.Run(c.name+"/json", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				var req converse.Request
				if err := json.Unmarshal(c.body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/read+validate", func(b *testing.B) {
			body := bytes.NewReader(c.body)
			r := &http.Request{
				Method:        http.MethodPost,
				Header:        http.Header{"Content-Type": {"application/json"}},
				Body:          io.NopCloser(body),
				ContentLength: int64(len(c.body)),
			}
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(c.body)
				req, err := h.readRequest(nil, r, &call{modelID: "meta.llama3-1-8b-instruct-v1:0"})
				if err != nil {
					b.Fatal(err)
				}
				if err := converse.Validate(req, converse.AllFeatures, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
