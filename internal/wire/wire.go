// Package wire reads the loosely typed values of the recordings API's JSON
// (times in several layouts or epoch milliseconds, sizes as numbers or
// strings). The API client and the archive's reader of recording.json
// both use it, so a recording reads the same in both.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxMediaSize is the largest size a media file may claim: S3's object limit
// (5 TiB). Anything larger is a broken record, not a recording.
const MaxMediaSize int64 = 5 << 40

// maxEpochMillis keeps epoch times inside years 0..9999, so that a garbage
// number is an error instead of an overflowing time.
const maxEpochMillis = 253402300799999

// Time reads a time in any of timeLayouts, or epoch milliseconds as a
// number or a numeric string. Absent, null or "" gives the zero time.
func Time(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return time.Time{}, nil
	}
	if raw[0] != '"' {
		return epochMillis(string(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if isNumeric(s) {
		return epochMillis(s)
	}
	// Go accepts a fractional second after the seconds when parsing even if
	// the layout has none, so "Z0700" covers "2015-09-10T16:58:22.000+0000"
	// and "...Z", and RFC 3339 covers "+02:00". Layouts without a zone are
	// read as UTC (GWS writes GMT).
	layouts := [...]string{
		time.RFC3339,
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04:05Z07",
		"2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04:05Z0700",
		"2006-01-02T15:04:05",
		"2006-01-02 15:04:05",
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown time layout %q", s)
}

// epochMillis reads epoch milliseconds; a fraction is allowed (1e12 style
// numbers happen) and truncated.
func epochMillis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxEpochMillis {
			return time.Time{}, fmt.Errorf("not a time: %s", s)
		}
		ms = int64(f)
	}
	if ms > maxEpochMillis || ms < -62135596800000 {
		return time.Time{}, fmt.Errorf("epoch milliseconds out of range: %s", s)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Size reads a byte count given as a number or a string; absent, null
// or "" gives -1 (unknown). Negative or absurd sizes are errors.
func Size(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return -1, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return -1, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > float64(MaxMediaSize) {
			return 0, fmt.Errorf("not a byte count: %.40q", s)
		}
		n = int64(f)
	}
	switch {
	case n < 0:
		return 0, fmt.Errorf("negative (%d)", n)
	case n > MaxMediaSize:
		return 0, fmt.Errorf("absurd (%d bytes, more than 5 TiB)", n)
	}
	return n, nil
}

// String reads a JSON string; absent or null gives "".
func String(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", errors.New("not a string")
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// Scalar reads a string, or a number as its text (some servers send
// durations and even IDs as numbers); absent or null gives "".
func Scalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		var n json.Number
		err := json.Unmarshal(raw, &n)
		return n.String(), err
	}
	return String(raw)
}

func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// isNumeric reports whether s is an optionally signed run of digits.
func isNumeric(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
