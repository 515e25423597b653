package converse_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayout keeps the layout reading as a request flows (style.md §2): each
// package may depend only on what comes after it, so it fails on an import
// the table forbids, directly or through another package.
func TestLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/converse-project/converse"
	forbidden := map[string][]string{
		"":              {mod + "/", "net/http"},
		"/catalog":      {"net/http", mod + "/wire", mod + "/route", mod + "/codec", mod + "/transport", mod + "/backend"},
		"/config":       {"net/http", mod + "/wire", mod + "/codec", mod + "/transport", mod + "/backend"},
		"/wire":         {mod + "/codec", mod + "/transport", mod + "/route", mod + "/config", mod + "/backend", mod + "/testbackend", mod + "/catalog"},
		"/route":        {"net/http", mod + "/codec", mod + "/transport", mod + "/backend", mod + "/wire"},
		"/codec":        {"net/http", "os", mod + "/transport", mod + "/wire", mod + "/route", mod + "/backend"},
		"/transport/":   {mod, mod + "/codec", mod + "/wire", mod + "/route", mod + "/backend", mod + "/config"},
		"/document":     {"net/http", mod + "/"},
		"/testbackend":  {"net/http", mod + "/wire", mod + "/route", mod + "/codec", mod + "/transport"},
		"/backend":      {mod + "/wire", mod + "/route", mod + "/config"},
		"/upstreamtest": {mod + "/wire", mod + "/route", mod + "/backend", mod + "/codec"},
		"/modelstore":   {mod, mod + "/wire", mod + "/codec", mod + "/engine"},
		"/engine":       {mod, mod + "/wire", mod + "/codec", mod + "/transport", mod + "/backend", mod + "/route", mod + "/config"},
	}
	// Our own packages are checked through every dependency; standard-library
	// bans (net/http, os) through direct imports only, since fmt alone brings os.
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Imports ","}} {{join .Deps ","}}`, mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, " ")
		pkg, imports, deps := fields[0], strings.Split(fields[1], ","), strings.Split(fields[2], ",")
		rel := strings.TrimPrefix(pkg, mod)
		for _, dep := range deps {
			if strings.HasSuffix(dep, "/upstreamtest") && !strings.HasSuffix(pkg, "/upstreamtest") {
				t.Errorf("%s imports %s: fake upstreams are for tests only", pkg, dep)
			}
		}
		// Only the bedrock transport talks to Amazon Bedrock (and the
		// quickstart example, which is a client).
		for _, dep := range imports {
			if strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/bedrockruntime") && rel != "/transport/bedrock" && !strings.HasPrefix(rel, "/examples/") {
				t.Errorf("%s imports %s: only transport/bedrock may", pkg, dep)
			}
		}
		for prefix, bans := range forbidden {
			if !(rel == prefix || (prefix != "" && strings.HasSuffix(prefix, "/") && strings.HasPrefix(rel, prefix)) || (prefix != "" && strings.HasPrefix(rel, prefix+"/"))) {
				continue
			}
			for _, ban := range bans {
				list := deps
				if !strings.HasPrefix(ban, mod) {
					list = imports
				}
				for _, dep := range list {
					// A bare mod bans the root package only; mod+"/" bans every package.
					if dep == ban || (strings.HasSuffix(ban, "/") && strings.HasPrefix(dep, ban)) || (ban != mod && strings.HasPrefix(dep, ban+"/")) {
						t.Errorf("%s must not import %s (rule %q)", pkg, dep, ban)
					}
				}
			}
		}
	}
}
