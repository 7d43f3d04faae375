package browser

import (
	"errors"
	"strings"
	"testing"
)

// TestRedact shows a remote browser's URL without what may be secret.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ws://127.0.0.1:9222/devtools/browser/abc", "ws://127.0.0.1:9222/devtools/browser/abc"},
		{"http://10.0.0.5:9222", "http://10.0.0.5:9222"},
		{"wss://fleet.example.com/?token=s3cret&headless=true", "wss://fleet.example.com/?…"},
		{"https://user:s3cret@fleet.example.com/chrome", "https://fleet.example.com/chrome"},
		{"ws://[::1]:9222/devtools/browser/x?", "ws://[::1]:9222/devtools/browser/x?…"},
		{"ws://host:9222/%zz?token=s3cret", "(a URL that does not parse)"},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRemoteErrorScrubs keeps a token out of an error's text when the
// error underneath quotes the URL in full, as net/http does.
func TestRemoteErrorScrubs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		under string
		want  string
	}{
		{"query in a quoted URL", `Get "http://fleet:3000/json/version?token=s3cret": dial tcp 10.0.0.5:3000: connect: connection refused`,
			`Get "http://fleet:3000/json/version?…": dial tcp 10.0.0.5:3000: connect: connection refused`},
		{"user and password", `could not dial "wss://bot:s3cret@fleet.example.com/": EOF`, `could not dial "wss://fleet.example.com/": EOF`},
		{"nothing secret", "websocket handshake failed: unexpected status \"401 Unauthorized\"", "websocket handshake failed: unexpected status \"401 Unauthorized\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := &RemoteError{URL: "wss://fleet.example.com/?…", Op: "connect", Err: errors.New(tc.under)}
			want := "remote browser wss://fleet.example.com/?…: connect: " + tc.want
			if got := err.Error(); got != want || strings.Contains(got, "s3cret") {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
}
