package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxPageBytes caps one page's body: a hundred recordings take well
// under a megabyte, so a bigger answer is a broken server, and refusing it is
// better than running out of memory.
const DefaultMaxPageBytes = 64 << 20

// errPageTooLarge is returned when a page body exceeds the cap.
var errPageTooLarge = errors.New("page body too large")

// StatusError is an API answer whose statusCode is not 0.
type StatusError struct {
	Code    string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("recordings API statusCode %s: %s", e.Code, e.Message)
}

// page is one decoded listing answer. Recordings that did not decode are
// kept (with their error) so the engine can name them.
type page struct {
	recordings []Recording
	next       string // paging.next, "" when absent
}

// pageHeader holds the page's scalar fields while the body streams.
type pageHeader struct {
	code, message string
}

// decodePage decodes a listing answer from r as a stream, one recording at
// a time, reading at most max bytes. A non-zero statusCode is a
// *StatusError, wherever it appears in the object.
func decodePage(r io.Reader, max int64) (*page, error) {
	dec := json.NewDecoder(&capReader{r: r, left: max})
	p := &page{}
	var h pageHeader
	err := p.decodeObject(dec, &h)
	if h.code != "" && h.code != "0" {
		return nil, &StatusError{Code: h.code, Message: h.message}
	}
	if err != nil {
		return nil, fmt.Errorf("decode page: %w", err)
	}
	return p, nil
}

func (p *page) decodeObject(dec *json.Decoder, h *pageHeader) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := p.decodeField(dec, key, h); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return expectDelim(dec, '}')
}

func (p *page) decodeField(dec *json.Decoder, key string, h *pageHeader) error {
	var raw json.RawMessage
	switch key {
	case "recordings":
		return p.decodeRecordings(dec)
	case "paging":
		return p.decodePaging(dec)
	case "statusCode", "statusMessage":
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		s, err := jsonScalar(raw)
		if key == "statusCode" {
			h.code = s
		} else {
			h.message = s
		}
		return err
	default:
		return dec.Decode(&skipValue{})
	}
}

// skipValue discards a JSON value the client does not read. Unlike a
// json.RawMessage it keeps no copy: the decoder hands it a slice of its
// own buffer, so a huge unknown field costs one buffer, not two.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// decodeRecordings reads the recordings array element by element, so only
// one raw recording is held besides the decoded ones.
func (p *page) decodeRecordings(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %s", describe(tok))
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		rec, _ := decodeOwned(raw) // a bad recording is kept, Validate reports it
		p.recordings = append(p.recordings, rec)
	}
	return expectDelim(dec, ']')
}

func (p *page) decodePaging(dec *json.Decoder) error {
	var paging *struct {
		Next json.RawMessage `json:"next"`
	}
	if err := dec.Decode(&paging); err != nil {
		return err
	}
	if paging == nil {
		return nil
	}
	next, err := jsonString(paging.Next)
	p.next = next
	return err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %s", want, describe(tok))
	}
	return nil
}

// describe names a JSON token for an error without repeating a string the
// server sent (it could hold escape sequences or anything else).
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return strconv.Quote(string(v))
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprint(v) // a bool or a number
	}
}

// capReader fails with errPageTooLarge once more than left bytes are read.
// The error sticks: json.Decoder.More swallows a read error, and the next
// read must not look like a clean end of the body.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capReader) Read(b []byte) (int, error) {
	if c.over {
		return 0, errPageTooLarge
	}
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over, err = true, errPageTooLarge
		}
		return 0, err // io.EOF when the body ended exactly at the cap
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}
