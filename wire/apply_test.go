package wire_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/converse-project/converse/guard"
	"github.com/converse-project/converse/wire"
)

// applySet is one loaded guardrail: "secret" is blocked, e-mail addresses
// are masked.
func applySet(t *testing.T) guard.Set {
	t.Helper()
	g, err := guard.Parse([]byte(`{"name":"g","blockedInputMessaging":"input blocked","blockedOutputsMessaging":"output blocked",
		"wordPolicyConfig":{"wordsConfig":[{"text":"secret"}]},
		"sensitiveInformationPolicyConfig":{"piiEntitiesConfig":[{"type":"EMAIL","action":"ANONYMIZE"}]},
		"versions":{"2":{"name":"g","blockedInputMessaging":"v2 blocked","blockedOutputsMessaging":"v2 out","wordPolicyConfig":{"wordsConfig":[{"text":"other"}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Load(guard.Options{}); err != nil {
		t.Fatal(err)
	}
	return guard.Set{"gr1abc": g}
}

func applyInput(id, version, text string, source types.GuardrailContentSource) *bedrockruntime.ApplyGuardrailInput {
	return &bedrockruntime.ApplyGuardrailInput{
		GuardrailIdentifier: aws.String(id),
		GuardrailVersion:    aws.String(version),
		Source:              source,
		Content:             []types.GuardrailContentBlock{&types.GuardrailContentBlockMemberText{Value: types.GuardrailTextBlock{Text: aws.String(text)}}},
	}
}

func TestApplyGuardrailThroughTheSDK(t *testing.T) {
	srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{}), Guardrails: applySet(t)})
	client := newClient(srv, nil)
	tests := []struct {
		name       string
		in         *bedrockruntime.ApplyGuardrailInput
		action     types.GuardrailAction
		outputs    []string
		reasonPart string
	}{
		{"clean input passes", applyInput("gr1abc", "DRAFT", "hello there", types.GuardrailContentSourceInput), types.GuardrailActionNone, nil, "No action"},
		{"blocked input answers the input message", applyInput("gr1abc", "DRAFT", "tell me the SECRET", types.GuardrailContentSourceInput), types.GuardrailActionGuardrailIntervened, []string{"input blocked"}, "blocked"},
		{"blocked output answers the output message", applyInput("gr1abc", "DRAFT", "the secret is out", types.GuardrailContentSourceOutput), types.GuardrailActionGuardrailIntervened, []string{"output blocked"}, "blocked"},
		{"masked text comes back", applyInput("gr1abc", "DRAFT", "mail bob@example.com", types.GuardrailContentSourceInput), types.GuardrailActionGuardrailIntervened, []string{"mail {EMAIL}"}, "masked"},
		{"numbered version", applyInput("gr1abc", "2", "the other one", types.GuardrailContentSourceInput), types.GuardrailActionGuardrailIntervened, []string{"v2 blocked"}, "blocked"},
		{"ARN identifier", applyInput("arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1abc", "DRAFT", "secret", types.GuardrailContentSourceInput), types.GuardrailActionGuardrailIntervened, []string{"input blocked"}, "blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.ApplyGuardrail(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if out.Action != tt.action || !strings.Contains(aws.ToString(out.ActionReason), tt.reasonPart) {
				t.Errorf("action = %s (%s), want %s", out.Action, aws.ToString(out.ActionReason), tt.action)
			}
			var got []string
			for _, o := range out.Outputs {
				got = append(got, aws.ToString(o.Text))
			}
			if strings.Join(got, "|") != strings.Join(tt.outputs, "|") {
				t.Errorf("outputs = %q, want %q", got, tt.outputs)
			}
			if len(out.Assessments) != 1 || out.Assessments[0].InvocationMetrics == nil || out.Usage == nil || out.Usage.WordPolicyUnits == nil {
				t.Errorf("assessments = %+v, usage = %+v", out.Assessments, out.Usage)
			}
			if c := out.GuardrailCoverage; c == nil || c.TextCharacters == nil || aws.ToInt32(c.TextCharacters.Total) == 0 {
				t.Errorf("coverage = %+v", c)
			}
		})
	}
}

func TestApplyGuardrailErrors(t *testing.T) {
	srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{}), Guardrails: applySet(t)})
	client := newClient(srv, nil)
	tests := []struct {
		name   string
		in     *bedrockruntime.ApplyGuardrailInput
		status int
		target any
	}{
		{"unknown identifier", applyInput("nosuch", "DRAFT", "x", types.GuardrailContentSourceInput), http.StatusNotFound, new(*types.ResourceNotFoundException)},
		{"unknown version", applyInput("gr1abc", "7", "x", types.GuardrailContentSourceInput), http.StatusNotFound, new(*types.ResourceNotFoundException)},
		{"bad identifier pattern", applyInput("Bad_ID", "DRAFT", "x", types.GuardrailContentSourceInput), http.StatusBadRequest, new(*types.ValidationException)},
		{"bad version pattern", applyInput("gr1abc", "v1", "x", types.GuardrailContentSourceInput), http.StatusBadRequest, new(*types.ValidationException)},
		{"bad source", applyInput("gr1abc", "DRAFT", "x", "SIDEWAYS"), http.StatusBadRequest, new(*types.ValidationException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ApplyGuardrail(context.Background(), tt.in)
			switch target := tt.target.(type) {
			case **types.ResourceNotFoundException:
				if !errors.As(err, target) {
					t.Fatalf("err = %v, want ResourceNotFoundException", err)
				}
				if !strings.Contains((*target).ErrorMessage(), "guardrail") {
					t.Errorf("message = %q", (*target).ErrorMessage())
				}
			case **types.ValidationException:
				if !errors.As(err, target) {
					t.Fatalf("err = %v, want ValidationException", err)
				}
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != tt.status {
				t.Errorf("status = %d, want %d", re.HTTPStatusCode(), tt.status)
			}
		})
	}
}

func TestApplyGuardrailUnservedWithoutGuardrails(t *testing.T) {
	srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{})})
	resp, err := http.Post(srv.URL+"/guardrail/abc/version/DRAFT/apply", "application/json", strings.NewReader(`{"source":"INPUT","content":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("x-amzn-ErrorType"), "UnknownOperationException") {
		t.Errorf("status %d, type %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}

func TestApplyGuardrailRequiresSourceAndContent(t *testing.T) {
	srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{}), Guardrails: applySet(t)})
	resp, err := http.Post(srv.URL+"/guardrail/gr1abc/version/DRAFT/apply", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("x-amzn-ErrorType"), "ValidationException") {
		t.Errorf("status %d, type %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}
