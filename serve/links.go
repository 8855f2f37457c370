package serve

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// LinkSecretSize is the length of the link-signing key (spec §12).
const LinkSecretSize = 32

// Links mints and checks signed links (spec §12):
// <path>?exp=<unix seconds>&u=<user>&sig=<base64url HMAC-SHA256(path, exp, user)>.
// A link carries no credential and no path on disk; it dies when it
// expires and when the process restarts (unless the secret is shared
// through RCBS_SERVE_LINK_SECRET). Safe for concurrent use.
type Links struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewLinks keys links with secret (nil: 32 fresh bytes from crypto/rand).
func NewLinks(secret []byte, ttl time.Duration, now func() time.Time) (*Links, error) {
	if secret == nil {
		secret = make([]byte, LinkSecretSize)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	if len(secret) < LinkSecretSize {
		return nil, errors.New("link secret shorter than 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &Links{secret: secret, ttl: ttl, now: now}, nil
}

// Sign returns path with its query (exp, u, sig) and when it expires.
// path is the escaped URL path, e.g. /m/<id>/<mediaId>.
func (l *Links) Sign(path, user string) (string, time.Time) {
	exp := l.now().Add(l.ttl).Truncate(time.Second)
	expS := strconv.FormatInt(exp.Unix(), 10)
	q := url.Values{"exp": {expS}, "u": {user}, "sig": {l.mac(path, expS, user)}}
	return path + "?" + q.Encode(), exp
}

func (l *Links) mac(path, exp, user string) string {
	m := hmac.New(sha256.New, l.secret)
	// Lengths first, so that no two (path, exp, user) triples share a MAC input.
	for _, s := range []string{path, exp, user} {
		m.Write(strconv.AppendInt(nil, int64(len(s)), 10))
		m.Write([]byte{':'})
		m.Write([]byte(s))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a link for path and returns its user, or the status to
// answer: 403 when anything was changed (compared in constant time), 410
// when it expired. The MAC is checked before the expiry, so a forged exp
// is a 403, not a 410.
func (l *Links) Verify(path string, q url.Values) (user string, status int) {
	exp, user, sig := q.Get("exp"), q.Get("u"), q.Get("sig")
	if len(q["exp"]) != 1 || len(q["u"]) != 1 || len(q["sig"]) != 1 {
		return "", http.StatusForbidden
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	want, _ := base64.RawURLEncoding.DecodeString(l.mac(path, exp, user))
	if err != nil || !hmac.Equal(got, want) {
		return "", http.StatusForbidden
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", http.StatusForbidden
	}
	if !l.now().Before(time.Unix(secs, 0)) {
		return "", http.StatusGone
	}
	return user, 0
}
