package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/converse-project/converse/config"
	"github.com/converse-project/converse/engine/kernels"
	"github.com/converse-project/converse/wire"
)

// ServeCommand runs the Bedrock Runtime server until its context ends.
type ServeCommand struct {
	Stdout, Stderr io.Writer

	// OnListen, when set, is called with the bound address once the server
	// accepts connections (tests listen on 127.0.0.1:0).
	OnListen func(net.Addr)
}

// Run parses the flags in args and serves.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (HTTP/1.1 and cleartext HTTP/2 on one port)")
	cfgPath := fs.String("config", "", "YAML configuration file (default: every catalog model served by the built-in test backend)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logContent := fs.Bool("log-content", false, "also log request and response bodies at debug level (they may hold user data)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS (HTTP/2 by ALPN) with this certificate file")
	tlsKey := fs.String("tls-key", "", "private key file for --tls-cert")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("serve: --log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	loadStart := time.Now()
	router, closeModels, err := buildRouter(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeModels() // after the server has shut down: no request uses a model any more
	if n := countLocal(cfg); n > 0 {
		// Which kernels the embedded engine runs is worth a line: a plain
		// build or an older CPU is several times slower (docs/engine.md).
		logger.Info("embedded engine ready", "models", n, "load", time.Since(loadStart).Round(time.Millisecond), "kernels", kernels.Accel())
	}
	handler := wire.NewHandler(wire.Options{Router: router, InvokeRouter: router, Guardrails: guardrailSet(cfg), Logger: logger, LogContent: *logContent})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := newHTTPServer(handler, logger)
	logger.Info("converse listening", "addr", ln.Addr().String(), "config", configName(*cfgPath), "entries", len(cfg.Models))
	if c.OnListen != nil {
		c.OnListen(ln.Addr())
	}

	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close() // streams still open after the grace period are cut
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// newHTTPServer serves HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge)
// on one port: the AWS SDK for JavaScript v3 speaks only HTTP/2 to Bedrock
// Runtime, the other SDKs HTTP/1.1 (wire-protocol.md §1.2). There is no
// server-wide WriteTimeout, which would cut long streams.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

func configName(path string) string {
	if path == "" {
		return "built-in default (test backend for every catalog model)"
	}
	return path
}

// countLocal is how many configuration entries the embedded engine serves.
func countLocal(cfg *config.Config) int {
	n := 0
	for _, m := range cfg.Models {
		if m.Backend == config.BackendLocal {
			n++
		}
	}
	return n
}
