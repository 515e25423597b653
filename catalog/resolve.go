package catalog

import "strings"

// profilePrefixes are the cross-Region inference-profile prefixes AWS
// documents (wire-protocol.md §7.1, from the AWS CDK's
// CrossRegionInferenceProfileRegion). A profile ID is "<prefix>.<base ID>".
var profilePrefixes = map[string]bool{
	"us": true, "us-gov": true, "eu": true, "apac": true, "jp": true, "au": true, "global": true,
}

// Resolve returns the catalog row a request's model ID names, in any form
// Bedrock accepts for an on-demand catalog model (wire-protocol.md §7.1):
//
//	anthropic.claude-3-haiku-20240307-v1:0                                  base model ID
//	us.anthropic.claude-3-haiku-20240307-v1:0                               cross-Region inference profile
//	arn:aws:bedrock:us-east-1::foundation-model/<base ID>                   foundation-model ARN
//	arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.<base ID>   inference-profile ARN
//
// Profile prefixes are us, us-gov, eu, apac, jp, au and global; the ARN
// partition is aws or aws-<suffix> (aws-cn, aws-us-gov, …). Any other shape,
// a malformed ARN, or an ID whose base is not in the catalog is not resolved.
// Whether the caller used a profile is reported by IsProfile.
func Resolve(modelID string) (Model, bool) {
	base, _, ok := parse(modelID)
	if !ok {
		return Model{}, false
	}
	return Lookup(base)
}

// IsProfile reports whether modelID is an inference-profile ID or an
// inference-profile ARN of a catalog model. Bedrock invokes profile-only
// models (Model.ProfileOnly) only through these forms.
func IsProfile(modelID string) bool {
	_, profile, ok := parse(modelID)
	return ok && profile
}

// parse splits modelID into the catalog base ID it names and whether it
// names it through an inference profile.
func parse(modelID string) (base string, profile, ok bool) {
	if _, ok := Lookup(modelID); ok {
		return modelID, false, true
	}
	if strings.HasPrefix(modelID, "arn:") {
		return parseARN(modelID)
	}
	base, ok = parseProfile(modelID)
	return base, ok, ok
}

// parseProfile returns the base ID of a "<prefix>.<base ID>" profile ID.
func parseProfile(id string) (string, bool) {
	prefix, base, found := strings.Cut(id, ".")
	if !found || !profilePrefixes[prefix] {
		return "", false
	}
	if _, ok := Lookup(base); !ok {
		return "", false
	}
	return base, true
}

// parseARN reads arn:<partition>:bedrock:<region>:<account>:<type>/<name>,
// accepting the foundation-model type (empty account) and the
// inference-profile type (12-digit account).
func parseARN(arn string) (base string, profile, ok bool) {
	f := strings.SplitN(arn, ":", 6) // the resource keeps its own colons ("…-v1:0")
	if len(f) != 6 || f[0] != "arn" || !validPartition(f[1]) || f[2] != "bedrock" || !validRegion(f[3]) {
		return "", false, false
	}
	account, resource := f[4], f[5]
	kind, name, found := strings.Cut(resource, "/")
	if !found {
		return "", false, false
	}
	switch kind {
	case "foundation-model":
		if account != "" {
			return "", false, false
		}
		if _, ok := Lookup(name); !ok {
			return "", false, false
		}
		return name, false, true
	case "inference-profile":
		if !validAccount(account) {
			return "", false, false
		}
		base, ok := parseProfile(name)
		return base, ok, ok
	}
	return "", false, false
}

// validPartition accepts "aws" and "aws-<lower-case words>" (aws-cn,
// aws-us-gov, aws-iso-b …), as the model-ID pattern's arn:aws(-[^:]+)? does.
func validPartition(p string) bool {
	if p == "aws" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "aws-")
	return ok && rest != "" && !strings.HasSuffix(rest, "-") && allOf(rest, func(c byte) bool { return c >= 'a' && c <= 'z' || c == '-' })
}

// validRegion matches the ARN region pattern [a-z0-9-]{1,20}.
func validRegion(r string) bool {
	return len(r) >= 1 && len(r) <= 20 && allOf(r, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' })
}

// validAccount matches a 12-digit AWS account ID.
func validAccount(a string) bool {
	return len(a) == 12 && allOf(a, func(c byte) bool { return c >= '0' && c <= '9' })
}

func allOf(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
