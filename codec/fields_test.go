package codec

import "testing"

func TestResponseFields(t *testing.T) {
	body := []byte(`{"stop_sequence":null,"stop_reason":"end_turn","usage":{"input_tokens":3},"a/b":{"~x":1},"list":[10,20]}`)
	for _, tc := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"no paths", nil, ""},
		{"a top-level member, null included", []string{"/stop_sequence"}, `{"stop_sequence":null}`},
		{"nested and array members", []string{"/usage/input_tokens", "/list/1"}, `{"1":20,"input_tokens":3}`},
		{"escaped tokens", []string{"/a~1b/~0x"}, `{"~x":1}`},
		{"missing members are ignored", []string{"/nope", "/list/7", "/list/01"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(ResponseFields(body, tc.paths)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
