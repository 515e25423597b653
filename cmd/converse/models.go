package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// ModelsCommand lists the models a configuration serves, where from, and
// what each supports.
type ModelsCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags in args and prints the table.
func (c *ModelsCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	cfgPath := fs.String("config", "", "YAML configuration file (default: the built-in default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	table, closeModels, err := buildRouter(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeModels()
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL ID\tBACKEND\tNAME\tFEATURES")
	for _, m := range table.Models() {
		f := m.Features
		var feats []byte
		for _, x := range []struct {
			on   bool
			name string
		}{{f.Chat, "chat"}, {f.Stream, "stream"}, {f.System, "system"}, {f.Documents, "documents"},
			{f.Vision, "vision"}, {f.ToolUse, "tools"}, {f.StreamingToolUse, "stream-tools"},
			{f.ToolChoice, "tool-choice"}, {f.Guardrails, "guardrails"}} {
			if x.on {
				if len(feats) > 0 {
					feats = append(feats, ',')
				}
				feats = append(feats, x.name...)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, m.Kind, m.Name, feats)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Where the local backend's models come from: the files converse pull
	// downloaded, and each local entry's file.
	store, err := openStore("")
	if err != nil {
		return nil
	}
	files, err := store.List()
	if err != nil || len(files) == 0 {
		return err
	}
	fmt.Fprintf(c.Stdout, "\nModel files in %s (serve one with backend: local, model_path: FILE):\n", store.Dir)
	for _, f := range files {
		fmt.Fprintf(c.Stdout, "  %s  %.1f MB\n", f.Path, float64(f.Size)/1e6)
	}
	return nil
}
