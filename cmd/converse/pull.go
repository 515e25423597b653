package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/converse-project/converse/modelstore"
)

// PullCommand downloads a GGUF model file for the local engine.
type PullCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags in args and downloads the model they name.
func (c *PullCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	dir := fs.String("dir", "", "models directory (default: $CONVERSE_MODELS, else the user cache directory)")
	sum := fs.String("sha256", "", "expected SHA-256 of the file (default: the one the server announces, if any)")
	list := fs.Bool("list", false, "list the models known by name")
	fs.Usage = func() {
		fmt.Fprintln(c.Stderr, "usage: converse pull [--dir DIR] [--sha256 HEX] NAME-or-URL\n       converse pull --list")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tFAMILY\tABOUT")
		for _, k := range modelstore.KnownModels() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.Family, k.About)
		}
		return tw.Flush()
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("pull: want one model name or URL")
	}
	store, err := openStore(*dir)
	if err != nil {
		return err
	}
	path, err := store.Pull(ctx, fs.Arg(0), modelstore.PullOptions{SHA256: *sum, Progress: progressBar(c.Stderr, fs.Arg(0))})
	fmt.Fprintln(c.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, path)
	return nil
}

func openStore(dir string) (*modelstore.Store, error) {
	if dir == "" {
		var err error
		if dir, err = modelstore.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return &modelstore.Store{Dir: dir}, nil
}

// progressBar draws "name [=====>     ]  42%  120.0 / 286.0 MB" on one
// terminal line, redrawn in place.
func progressBar(w io.Writer, name string) modelstore.Progress {
	const width = 30
	return func(done, total int64) {
		if total <= 0 {
			fmt.Fprintf(w, "\r%s  %.1f MB", name, float64(done)/1e6)
			return
		}
		n := int(int64(width) * done / total)
		bar := make([]byte, width)
		for i := range bar {
			switch {
			case i < n:
				bar[i] = '='
			case i == n:
				bar[i] = '>'
			default:
				bar[i] = ' '
			}
		}
		fmt.Fprintf(w, "\r%s [%s] %3d%%  %.1f / %.1f MB", name, bar, 100*done/total, float64(done)/1e6, float64(total)/1e6)
	}
}
