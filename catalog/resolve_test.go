package catalog

import "testing"

func TestResolve(t *testing.T) {
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	tests := []struct {
		name    string
		id      string
		want    string // base ID, "" when not resolved
		profile bool
	}{
		{"base id", haiku, haiku, false},
		{"base id without version suffix", "amazon.titan-text-express-v1", "amazon.titan-text-express-v1", false},
		{"us profile", "us." + haiku, haiku, true},
		{"us-gov profile", "us-gov." + haiku, haiku, true},
		{"eu profile", "eu." + haiku, haiku, true},
		{"apac profile", "apac." + haiku, haiku, true},
		{"jp profile", "jp." + haiku, haiku, true},
		{"au profile", "au." + haiku, haiku, true},
		{"global profile", "global." + haiku, haiku, true},
		{"undocumented ca prefix", "ca." + haiku, "", false},
		{"unknown prefix", "xx." + haiku, "", false},
		{"profile of unknown model", "us.anthropic.claude-9", "", false},
		{"double prefix", "us.eu." + haiku, "", false},
		{"foundation-model arn", "arn:aws:bedrock:us-east-1::foundation-model/" + haiku, haiku, false},
		{"foundation-model arn in aws-cn", "arn:aws-cn:bedrock:cn-north-1::foundation-model/" + haiku, haiku, false},
		{"foundation-model arn in aws-us-gov", "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/" + haiku, haiku, false},
		{"foundation-model arn with account", "arn:aws:bedrock:us-east-1:123456789012:foundation-model/" + haiku, "", false},
		{"foundation-model arn naming a profile", "arn:aws:bedrock:us-east-1::foundation-model/us." + haiku, "", false},
		{"inference-profile arn", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + haiku, haiku, true},
		{"inference-profile arn without prefix", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + haiku, "", false},
		{"inference-profile arn without account", "arn:aws:bedrock:us-east-1::inference-profile/us." + haiku, "", false},
		{"inference-profile arn with short account", "arn:aws:bedrock:us-east-1:12345:inference-profile/us." + haiku, "", false},
		{"arn of another service", "arn:aws:sagemaker:us-east-1::foundation-model/" + haiku, "", false},
		{"arn of another partition word", "arn:azure:bedrock:us-east-1::foundation-model/" + haiku, "", false},
		{"arn with empty region", "arn:aws:bedrock:::foundation-model/" + haiku, "", false},
		{"arn with upper-case region", "arn:aws:bedrock:US-EAST-1::foundation-model/" + haiku, "", false},
		{"arn without resource type", "arn:aws:bedrock:us-east-1::" + haiku, "", false},
		{"truncated arn", "arn:aws:bedrock", "", false},
		{"application inference profile", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", "", false},
		{"provisioned context variant", "anthropic.claude-v2:1:200k", "", false},
		{"unknown id", "anthropic.claude-42", "", false},
		{"empty", "", "", false},
		{"trailing space", haiku + " ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := Resolve(tt.id)
			if got := map[bool]string{true: m.ID}[ok]; got != tt.want || ok != (tt.want != "") {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.id, m.ID, ok, tt.want)
			}
			if got := IsProfile(tt.id); got != tt.profile {
				t.Errorf("IsProfile(%q) = %v, want %v", tt.id, got, tt.profile)
			}
		})
	}
}

func FuzzResolve(f *testing.F) {
	f.Add("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0")
	f.Add("us.meta.llama3-1-8b-instruct-v1:0")
	f.Fuzz(func(t *testing.T, id string) {
		m, ok := Resolve(id)
		if ok {
			if _, inTable := Lookup(m.ID); !inTable {
				t.Fatalf("Resolve(%q) returned %q, not a catalog row", id, m.ID)
			}
		} else if IsProfile(id) {
			t.Fatalf("IsProfile(%q) but not resolved", id)
		}
	})
}
