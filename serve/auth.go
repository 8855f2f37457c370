package serve

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rcbs/rcbs/archive"
	"golang.org/x/crypto/bcrypt"
)

// TokenUser is the name the shared search token acts as (scope *).
const TokenUser = "token"

// Principal is who a request acts for: a user of the users file, or the
// token. Access nil means scope * (everything).
type Principal struct {
	Name   string
	Access *archive.Access
}

// All reports whether the principal has scope *.
func (p Principal) All() bool { return p.Access == nil }

// Users is the users file (spec §12): name:<bcrypt hash>:<scope> per line.
// Read-only after ParseUsers; safe for concurrent use.
type Users struct {
	byName map[string]user
	dummy  []byte // a hash to compare against for unknown names (same cost)
}

type user struct {
	hash   []byte
	access *archive.Access
}

// LoadUsers reads a users file.
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	return ParseUsers(f)
}

// ParseUsers reads users lines; blank lines and lines starting with # are
// skipped. A bad line fails with its number (never its hash).
func ParseUsers(r io.Reader) (*Users, error) {
	u := &Users{byName: map[string]user{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok1 := strings.Cut(line, ":")
		// A bcrypt hash has no colon: the scope is what follows the second one.
		hash, scope, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || name == "" {
			return nil, fmt.Errorf("users file line %d: want name:<bcrypt hash>:<scope>", n)
		}
		if name == TokenUser {
			return nil, fmt.Errorf("users file line %d: the name %q is the search token's", n, TokenUser)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("users file line %d (%s): not a bcrypt hash (make one with rcbs serve -hash-password)", n, name)
		}
		access, err := ParseScope(scope)
		if err != nil {
			return nil, fmt.Errorf("users file line %d (%s): %w", n, name, err)
		}
		if _, dup := u.byName[name]; dup {
			return nil, fmt.Errorf("users file line %d: user %s twice", n, name)
		}
		u.byName[name] = user{hash: []byte(hash), access: access}
		if u.dummy == nil {
			u.dummy = []byte(hash)
		}
	}
	return u, sc.Err()
}

// ParseScope reads "*" or a comma-separated list of agent=<id>,
// ani=<prefix>, tenant=<name>. "*" is a nil Access.
func ParseScope(s string) (*archive.Access, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return nil, nil
	}
	a := &archive.Access{}
	for _, e := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(e), "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("scope entry %q: want agent=<id>, ani=<prefix>, tenant=<name> or *", e)
		}
		switch k {
		case "agent":
			a.Agents = append(a.Agents, v)
		case "ani":
			a.ANIPrefixes = append(a.ANIPrefixes, v)
		case "tenant":
			a.Tenants = append(a.Tenants, v)
		default:
			return nil, fmt.Errorf("scope entry %q: unknown kind %q", e, k)
		}
	}
	return a, nil
}

// Check verifies a password. An unknown name costs a bcrypt comparison
// too, so that timing does not tell which names exist.
func (u *Users) Check(name, password string) (Principal, bool) {
	if u == nil {
		return Principal{}, false
	}
	usr, ok := u.byName[name]
	hash := usr.hash
	if !ok {
		hash = u.dummy
	}
	if hash == nil {
		return Principal{}, false
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return Principal{}, false
	}
	return Principal{Name: name, Access: usr.access}, true
}

// Lookup returns a user's current scope (a link's user is re-checked on
// every request).
func (u *Users) Lookup(name string) (Principal, bool) {
	if u == nil {
		return Principal{}, false
	}
	usr, ok := u.byName[name]
	return Principal{Name: name, Access: usr.access}, ok
}

// HashPassword is what -hash-password prints.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// tokenMatches compares in constant time; hashing first hides the length.
func tokenMatches(got, want string) bool {
	if want == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// Limiter counts failed authentications per client address (spec §12):
// after Max failures within Window the address is refused (429) for Block,
// whatever it sends. Safe for concurrent use; the clock is injected.
type Limiter struct {
	Max    int
	Window time.Duration
	Block  time.Duration
	Now    func() time.Time

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	times        []time.Time
	blockedUntil time.Time
}

// NewLimiter is spec §12's limiter: 10 failures in 10 minutes block for 10 minutes.
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{Max: 10, Window: 10 * time.Minute, Block: 10 * time.Minute, Now: now, addrs: map[string]*failures{}}
}

// Blocked reports whether addr is refused now.
func (l *Limiter) Blocked(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	return f != nil && l.Now().Before(f.blockedUntil)
}

// Fail counts one failure from addr.
func (l *Limiter) Fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if len(l.addrs) > 100_000 {
		l.sweep(now)
	}
	f := l.addrs[addr]
	if f == nil {
		f = &failures{}
		l.addrs[addr] = f
	}
	f.times = recent(f.times, now.Add(-l.Window))
	f.times = append(f.times, now)
	if len(f.times) >= l.Max {
		f.blockedUntil = now.Add(l.Block)
		f.times = nil
	}
}

// sweep drops addresses with nothing recent, so memory stays bounded
// under a spray of addresses.
func (l *Limiter) sweep(now time.Time) {
	for a, f := range l.addrs {
		if len(recent(f.times, now.Add(-l.Window))) == 0 && !now.Before(f.blockedUntil) {
			delete(l.addrs, a)
		}
	}
}

func recent(ts []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(since) {
		i++
	}
	return ts[i:]
}
