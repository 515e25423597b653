package upstreamtest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func cohereCall(t *testing.T, ctx context.Context, srv *CohereServer, key, accept, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const cohereHello = `{"model":"command-r","message":"hi"}`

func TestCohereRejectsMalformedRequests(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", `{`, "invalid json"},
		{"missing model", `{"message":"hi"}`, "model"},
		{"missing message", `{"model":"m"}`, "message must be a string"},
		{"empty message without tool results", `{"model":"m","message":""}`, "at least 1 token"},
		{"message beside tool results", `{"model":"m","message":"hi","tool_results":[{"call":{"name":"f","parameters":{}},"outputs":[]}]}`, "cannot specify message"},
		{"an unknown history role", `{"model":"m","message":"hi","chat_history":[{"role":"ASSISTANT","message":"x"}]}`, "chat_history[0].role"},
		{"tool calls on a user entry", `{"model":"m","message":"hi","chat_history":[{"role":"USER","message":"x","tool_calls":[]}]}`, "only allowed for role CHATBOT"},
		{"a tool without description", `{"model":"m","message":"hi","tools":[{"name":"f"}]}`, "tools[0].description"},
		{"a parameter without type", `{"model":"m","message":"hi","tools":[{"name":"f","description":"","parameter_definitions":{"a":{}}}]}`, "parameter_definitions.a.type"},
		{"an output that is not an object", `{"model":"m","message":"","tool_results":[{"call":{"name":"f","parameters":{}},"outputs":["x"]}]}`, "outputs[0]"},
		{"a document member that is not a string", `{"model":"m","message":"hi","documents":[{"title":1}]}`, "documents[0].title"},
		{"temperature of a wrong type", `{"model":"m","message":"hi","temperature":"hot"}`, "temperature"},
		{"a generate body", `{"model":"command","prompt":"hi"}`, "message must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewCohere(t)
			resp := cohereCall(t, context.Background(), srv, CohereKey, "", tt.body)
			var e struct{ Message string }
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != 400 || !strings.Contains(e.Message, tt.want) {
				t.Errorf("status %d message %q, want 400 mentioning %q", resp.StatusCode, e.Message, tt.want)
			}
			if string(srv.LastRequest()) != tt.body {
				t.Errorf("LastRequest = %s", srv.LastRequest())
			}
		})
	}
}

func TestCohereRequiresTheKey(t *testing.T) {
	srv := NewCohere(t)
	resp := cohereCall(t, context.Background(), srv, "wrong", "", cohereHello)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
}

func TestCohereReplies(t *testing.T) {
	srv := NewCohere(t, CohereReply{Text: "Rome.", InputTokens: 31, OutputTokens: 2}, CohereReply{Status: 429})
	resp := cohereCall(t, context.Background(), srv, CohereKey, "", cohereHello)
	var r struct {
		Text         string
		FinishReason string `json:"finish_reason"`
		Meta         struct {
			BilledUnits struct {
				InputTokens int `json:"input_tokens"`
			} `json:"billed_units"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Text != "Rome." || r.FinishReason != "COMPLETE" || r.Meta.BilledUnits.InputTokens != 31 {
		t.Errorf("answer %+v (%v)", r, err)
	}
	resp = cohereCall(t, context.Background(), srv, CohereKey, "", cohereHello)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, want 429 with Retry-After", resp.StatusCode)
	}
	if srv.Requests() != 2 {
		t.Errorf("Requests = %d", srv.Requests())
	}
}

// cohereEventTypes reads a stream's events and returns their types.
func cohereEventTypes(t *testing.T, resp *http.Response, sse bool) []string {
	t.Helper()
	var types []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if sse {
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			line = strings.TrimPrefix(line, "data: ")
		}
		var ev struct {
			EventType string `json:"event_type"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		types = append(types, ev.EventType)
	}
	return types
}

func TestCohereStreams(t *testing.T) {
	tests := []struct {
		name   string
		reply  CohereReply
		accept string
		want   string
	}{
		{"text as NDJSON", CohereReply{Text: "Rome.", Chunks: 2}, "", "stream-start text-generation text-generation stream-end"},
		{"text as SSE", CohereReply{Text: "Rome."}, "text/event-stream", "stream-start text-generation stream-end"},
		{"tool calls", CohereReply{Text: "Plan.", ToolCalls: []CohereToolCall{{Name: "f", Parameters: `{"a":1}`}}}, "",
			"stream-start tool-calls-chunk tool-calls-chunk tool-calls-chunk tool-calls-generation stream-end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewCohere(t, tt.reply)
			resp := cohereCall(t, context.Background(), srv, CohereKey, tt.accept, `{"model":"m","message":"hi","stream":true}`)
			if got := strings.Join(cohereEventTypes(t, resp, tt.accept != ""), " "); got != tt.want {
				t.Errorf("events %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCohereHangNoticesTheClientLeaving(t *testing.T) {
	srv := NewCohere(t, CohereReply{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat", strings.NewReader(cohereHello))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+CohereKey)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for srv.Requests() == 0 { // the request must reach the server before the client leaves
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-srv.Cancelled()
	<-done
}
