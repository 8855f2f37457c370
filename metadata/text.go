package metadata

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxServerText bounds what of a server's text (statusMessage, statusCode)
// goes into an error: one line an admin can read, not a page of HTML.
const maxServerText = 200

// redacted replaces a credential found in a server's text.
const redacted = "[redacted]"

// scrubber makes text that a server sent safe to show. Servers (and the
// proxies and debug endpoints in front of them) echo request headers back,
// so a statusMessage may carry the Basic auth header; and a server's text
// may hold escape sequences that would rewrite the admin's terminal.
type scrubber struct {
	secrets []string // longest first, so that a token is replaced before the password inside it
}

// newScrubber knows the credentials a request carries: the password, the
// "user:password" pair and its base64 form (the Authorization header's
// value). The user name alone may be shown (spec §2), so it is not a
// secret. A one-character password makes messages ugly ("[redacted]" for
// each occurrence); shown is worse.
func newScrubber(user, password string) scrubber {
	if password == "" && user == "" {
		return scrubber{}
	}
	pair := user + ":" + password
	s := scrubber{secrets: []string{base64.StdEncoding.EncodeToString([]byte(pair)), pair}}
	if password != "" {
		s.secrets = append(s.secrets, password)
	}
	return s
}

// clean replaces the credentials, escapes every non-graphic rune (control
// characters, line and paragraph separators, bidi overrides) as \uXXXX so
// that the text stays one printable line, and bounds it to about limit bytes.
// The credentials go first: escaping or cutting could split one so that it
// is no longer recognised.
func (s scrubber) clean(text string, limit int) string {
	for _, secret := range s.secrets {
		text = strings.ReplaceAll(text, secret, redacted)
	}
	return printable(text, limit)
}

// printable escapes what a terminal would interpret and stops at about limit
// bytes (an escape is never cut in half), marking the cut with "…".
func printable(text string, limit int) string {
	var b strings.Builder
	for i := 0; i < len(text); {
		if b.Len() >= limit {
			return b.String() + "…"
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, text[i]) // not UTF-8
		case unicode.IsGraphic(r):
			b.WriteRune(r)
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
		i += size
	}
	return b.String()
}

// cleanServerText scrubs the server's text inside err: the message and code
// of a *StatusError, the message and host of an *HTTPError. withRetry calls
// it once for every failed attempt, so it is the one place where a server's
// text enters an error that leaves the Client.
func (c *Client) cleanServerText(err error) {
	var se *StatusError
	if errors.As(err, &se) {
		se.Code = c.scrub.clean(se.Code, 40)
		se.Message = c.scrub.clean(se.Message, maxServerText)
	}
	var he *HTTPError
	if errors.As(err, &he) {
		he.Message = c.scrub.clean(he.Message, maxServerText)
		he.Host = c.scrub.clean(he.Host, maxServerText)
	}
}
