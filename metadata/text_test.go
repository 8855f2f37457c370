package metadata

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// basicToken is the Authorization header value the test credentials make.
var basicToken = base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))

func TestScrubberClean(t *testing.T) {
	s := newScrubber(testUser, testPass)
	long := strings.Repeat("x", 190)
	tests := []struct {
		name, in string
		want     string // the whole result
	}{
		{"plain", "no such media", "no such media"},
		{"password", "bad password " + testPass + "!", "bad password [redacted]!"},
		{"pair", "got " + testUser + ":" + testPass, "got [redacted]"},
		{"echoed header", "Authorization: Basic " + basicToken + "; Accept: application/json",
			"Authorization: Basic [redacted]; Accept: application/json"},
		{"user alone is shown", "user " + testUser + " unknown", "user " + testUser + " unknown"},
		{"escape sequence", "internal \x1b[31merror", `internal \u001B[31merror`},
		{"newline and tab", "two\nlines\tand tab", `two\u000Alines\u0009and tab`},
		{"C1 CSI", "a\u009b2Jb", `a\u009B2Jb`},
		{"bidi override and line separator", "x\u202ey\u2028z", `x\u202Ey\u2028z`},
		{"DEL", "a\x7fb", `a\u007Fb`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"graphic unicode kept", "échec: 失败", "échec: 失败"},
		{"bounded", strings.Repeat("y", 500), strings.Repeat("y", maxServerText) + "…"},
		// A credential across the cut is replaced before the cut, so no
		// half of it is left.
		{"token across the cut", long + basicToken + strings.Repeat("z", 100),
			long + "[redacted]…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.clean(tt.in, maxServerText)
			if got != tt.want {
				t.Errorf("clean(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkShowable(t, got)
		})
	}
}

func TestNewScrubberNoCredentials(t *testing.T) {
	// No credentials: nothing to replace, and "" must not match everywhere.
	if got := newScrubber("", "").clean("abc", 10); got != "abc" {
		t.Errorf("got %q, want abc", got)
	}
}

// checkShowable fails if text holds a secret or a rune a terminal would
// interpret.
func checkShowable(t *testing.T, text string) {
	t.Helper()
	for _, secret := range []string{testPass, basicToken, basicToken[:12]} {
		if strings.Contains(text, secret) {
			t.Errorf("%q shows a secret (%s…)", text, secret[:6])
		}
	}
	for _, r := range text {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			t.Errorf("%q holds %U", text, r)
			return
		}
	}
}

// TestServerTextInErrors: whatever path a server's text takes into an
// error (an HTTP error's statusMessage, a statusCode in a 200 page or in the
// settings, a media 404), the error shows no credential and no control
// character, and stays short.
func TestServerTextInErrors(t *testing.T) {
	hostile := "echo: Authorization: Basic " + basicToken + "; pw " + testPass + " \x1b]0;pwned\x07\x1b[2J\r\n" + strings.Repeat("long ", 200)
	msg, err := json.Marshal(hostile)
	if err != nil {
		t.Fatal(err)
	}
	envelope := fmt.Sprintf(`{"statusCode":%s,"statusMessage":%s,"recordings":[]}`, msg, msg)
	tests := []struct {
		name   string
		status int
		call   func(ctx context.Context, c *Client) error
	}{
		{"list HTTP 500", 500, listOnce},
		{"list HTTP 400", 400, listOnce},
		{"list statusCode in a 200 page", 200, listOnce},
		{"settings HTTP 500", 500, settingsOnce},
		{"settings statusCode in a 200 answer", 200, settingsOnce},
		{"media HTTP 404", 404, mediaOnce},
		{"media HTTP 503", 503, mediaOnce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := apiServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tt.status, envelope) })
			err := tt.call(t.Context(), testClient(t, srv.URL+"/api/v2"))
			if err == nil {
				t.Fatal("no error")
			}
			text := err.Error()
			checkShowable(t, text)
			if !strings.Contains(text, "echo: Authorization: Basic [redacted]; pw [redacted]") {
				t.Errorf("the message lost what may be shown: %q", text)
			}
			if len(text) > 2*maxServerText+300 {
				t.Errorf("message of %d bytes, want it bounded: %q", len(text), text)
			}
		})
	}
}

func listOnce(ctx context.Context, c *Client) error {
	_, err := collect(ctx, c, t0, t0+1000)
	return err
}

func settingsOnce(ctx context.Context, c *Client) error {
	_, err := c.Settings(ctx)
	return err
}

func mediaOnce(ctx context.Context, c *Client) error {
	body, err := c.Media(ctx, MediaFile{MediaID: "m", MediaPath: "/media/m"})
	if err == nil {
		_, _ = io.Copy(io.Discard, body)
		_ = body.Close()
		return errors.New("media answered")
	}
	return err
}
