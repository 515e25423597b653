package transport

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSSE(t *testing.T) {
	tests := []struct {
		name, body string
		want       []Event
	}{
		{"events are split by blank lines", "data: a\n\ndata: b\n\n", []Event{{Data: []byte("a")}, {Data: []byte("b")}}},
		{"multi-line data is joined with a newline", "data: a\ndata: b\n\n", []Event{{Data: []byte("a\nb")}}},
		{"CRLF line ends are read", "event: e\r\ndata: a\r\n\r\n", []Event{{Name: "e", Data: []byte("a")}}},
		{"comments, id and retry are skipped", ": c\nid: 1\nretry: 5\ndata: a\n\n", []Event{{Data: []byte("a")}}},
		{"an event without data is not yielded", "event: ping\n\ndata: a\n\n", []Event{{Data: []byte("a")}}},
		{"an unclosed last event is still delivered", "data: [DONE]", []Event{{Data: []byte("[DONE]")}}},
		{"only one leading space is dropped", "data:  a\n\n", []Event{{Data: []byte(" a")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Event
			for ev, err := range SSE(strings.NewReader(tt.body), MaxEventBytes) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events %q, want %q", len(got), got, tt.want)
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || string(got[i].Data) != string(tt.want[i].Data) {
					t.Errorf("event %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestLineReadersReportErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		read func() error
	}{
		{"SSE yields a read failure last", func() error {
			var last error
			for _, err := range SSEData(iotest.ErrReader(boom), MaxEventBytes) {
				last = err
			}
			return last
		}},
		{"NDJSON yields a read failure last", func() error {
			var last error
			for _, err := range NDJSON(iotest.ErrReader(boom), MaxEventBytes) {
				last = err
			}
			return last
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.read(); !errors.Is(err, boom) {
				t.Errorf("last error %v, want boom", err)
			}
		})
	}
}

func TestLineReadersBoundLines(t *testing.T) {
	long := strings.Repeat("x", 10000) // over both the limit and the first buffer (4 KiB)
	for _, tt := range []struct {
		name string
		read func() error
	}{
		{"SSE", func() error {
			var last error
			for _, err := range SSEData(strings.NewReader("data: "+long+"\n\n"), 5000) {
				last = err
			}
			return last
		}},
		{"NDJSON", func() error {
			var last error
			for _, err := range NDJSON(strings.NewReader(long+"\n"), 5000) {
				last = err
			}
			return last
		}},
	} {
		t.Run(tt.name+" refuses a line over the limit", func(t *testing.T) {
			if err := tt.read(); err == nil {
				t.Error("no error for a line over the limit")
			}
		})
	}
}

func TestNDJSONCopiesLines(t *testing.T) {
	var got [][]byte
	for line, err := range NDJSON(strings.NewReader("{\"a\":1}\n{\"b\":2}\n"), MaxEventBytes) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if len(got) != 2 || string(got[0]) != `{"a":1}` || string(got[1]) != `{"b":2}` {
		t.Errorf("lines %q", got)
	}
}

func FuzzEvents(f *testing.F) {
	f.Add([]byte("data: x\n\n: c\nevent: e\ndata: [DONE]\n\n"))
	f.Add([]byte("data:\r\ndata\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for data, err := range SSEData(strings.NewReader(string(body)), MaxEventBytes) {
			if err == nil && len(data) > len(body) {
				t.Errorf("event of %d bytes from a body of %d", len(data), len(body))
			}
		}
	})
}

func BenchmarkEvents(b *testing.B) {
	body := strings.Repeat(`data: {"choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}`+"\n\n", 100)
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range SSEData(strings.NewReader(body), MaxEventBytes) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
