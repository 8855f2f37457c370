package config

import (
	"fmt"
	"strings"
)

// unknownKey is the warning for a key rcbs does not know: a typo must not
// pass silently, so it names the nearest known key when one is close. A key
// that looks like a credential gets its own hint, and its value is never
// repeated.
func unknownKey(file, key string) string {
	msg := fmt.Sprintf("%s: unknown key %q ignored", file, key)
	if isCredentialKey(key) {
		return msg + ": credentials are read only from the environment (GWS_USERNAME, GWS_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); remove it from the file"
	}
	if near := nearestKey(key); near != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", near)
	}
	return msg
}

func isCredentialKey(key string) bool {
	k := fold(key)
	for _, s := range []string{"password", "secret", "accesskey", "username", "gwsuser", "credential", "token"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// nearestKey returns the known key closest to key: equal when case, '_', '-'
// and '.' are ignored, else within an edit distance of 2 (1 for short
// keys); "" when none is that close.
func nearestKey(key string) string {
	best, bestDist := "", 3
	if len(key) <= 5 {
		bestDist = 2
	}
	for _, k := range keyTable() {
		if fold(k.name) == fold(key) {
			return k.name
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(k.name)); d < bestDist {
			best, bestDist = k.name, d
		}
	}
	return best
}

func fold(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(s))
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // no key is that long: not worth the quadratic work
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
