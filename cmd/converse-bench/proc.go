package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every architecture Go supports (proc(5)).
const clockTicks = 100

// process is a gateway running as a child process.
type process struct {
	name   string
	cmd    *exec.Cmd
	addr   string        // host:port it listens on
	log    *os.File      // its standard error
	exited chan struct{} // closed once the process has been waited for
}

// listenAddr matches the address in a "listening" log line: converse's
// slog line `msg="converse listening" addr=127.0.0.1:41234 …` and the
// proxy's `proxy listening addr=127.0.0.1:41235`.
var listenAddr = regexp.MustCompile(`listening.*\baddr=(\S+)`)

// parseListen returns the address in a listening log line.
func parseListen(line string) (string, bool) {
	m := listenAddr.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// start runs bin with args and waits, at most timeout, for the line on its
// standard error that says where it listens, or, when addr is not empty
// (a process told where to listen whose log level hides that line), until
// addr accepts connections. Its standard error goes to a file, as a
// server's log does in production: converse writes an access-log line per
// request there, which is part of what it costs, but reading it through a
// pipe would wake this process (the load generator and the upstream) on
// every line and charge both gateways' latency for it.
func start(ctx context.Context, name, bin string, args []string, addr string, timeout time.Duration) (*process, error) {
	logFile, err := os.CreateTemp("", "converse-bench-"+strings.ReplaceAll(name, " ", "-")+"-*.log")
	if err != nil {
		return nil, err
	}
	os.Remove(logFile.Name()) // unlinked: gone when both sides close it
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	exited := p.exited
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		head, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(logFile.Fd())))
		for _, line := range strings.Split(string(head), "\n") {
			if a, ok := parseListen(line); ok {
				p.addr = a
				return p, nil
			}
		}
		if addr != "" {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				p.addr = addr
				return p, nil
			}
		}
		select {
		case <-exited:
			p.stop()
			return nil, fmt.Errorf("%s exited before listening: %s", name, strings.TrimSpace(string(head[:min(len(head), 4096)])))
		case <-deadline:
			p.stop()
			return nil, fmt.Errorf("%s did not report its address within %s", name, timeout)
		case <-tick.C:
		}
	}
}

// stop interrupts the process (converse shuts down gracefully on SIGINT)
// and waits for it, killing it after a grace period.
func (p *process) stop() {
	if p.pid() == 0 {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	if p.log != nil {
		p.log.Close()
	}
}

// pid is the process's ID; 0 for a gateway running in this process (tests),
// whose CPU time is then not measured.
func (p *process) pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// cpuTime is the user plus system CPU time pid has used, all its threads
// included, read from /proc/<pid>/stat (resolution 1/clockTicks s).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15) from a /proc/<pid>/stat
// line. The command name (field 2) may hold spaces and parentheses, so
// fields are counted from its closing parenthesis.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// rss is pid's resident set size in bytes (VmRSS in /proc/<pid>/status).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseRSS(b)
}

func parseRSS(b []byte) (int64, error) {
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		if !ok {
			return 0, fmt.Errorf("proc status: VmRSS %q", rest)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(kb), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc status: %w", err)
		}
		return n << 10, nil
	}
	return 0, errors.New("proc status: no VmRSS")
}

// buildConverse builds cmd/converse into dir with the go command, from the
// module this command is run in.
func buildConverse(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "converse")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/converse-project/converse/cmd/converse")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build converse (run from the module, or pass -converse): %w\n%s", err, out)
	}
	return bin, nil
}

// converseConfig is the configuration converse runs with: the two bench
// models, custom IDs served by backend openai at the fast server.
func converseConfig(upstreamURL string) string {
	return fmt.Sprintf(`models:
  bench-fast:
    backend: openai
    base_url: %[1]s/v1
    model: %[2]s
    timeout: 60s
  bench-hold:
    backend: openai
    base_url: %[1]s/v1
    model: %[3]s
    timeout: 10m
`, upstreamURL, modelFast, modelHold)
}

// freeAddr returns a 127.0.0.1 address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
