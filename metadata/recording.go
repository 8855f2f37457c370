// Package metadata is the client of the vendor's recordings API (spec §7)
// and the recording model it returns.
package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Recording is one recording resource. Raw keeps the bytes exactly as the API
// sent them, so unknown keys round-trip into recording.json.
//
// A recording that could not be decoded (a bad time, a negative size, ...)
// is still delivered by List with what could be read, so that the engine
// names it and counts it as failed; Validate returns the decoding error.
type Recording struct {
	ID         string
	StartTime  time.Time
	StopTime   time.Time
	MediaFiles []MediaFile
	Raw        json.RawMessage

	invalid error // set when decoding failed; reported by Validate
}

// MediaFile is one entry of a recording's mediaFiles.
type MediaFile struct {
	MediaID   string
	Type      string
	Size      int64 // -1 when the metadata gives no size
	Duration  string
	StartTime time.Time
	StopTime  time.Time
	MediaURI  string
	MediaPath string
	// From mediaDescriptor when its storage is "awsS3"; Key empty otherwise.
	Bucket string
	Key    string
}

// InS3 reports whether the media is fetched from S3 (else through the API).
func (m MediaFile) InS3() bool { return m.Key != "" }

// Settings is the answer of the settings API; both fields are optional.
type Settings struct {
	AWSRegion string
	S3Bucket  string
}

// MaxNameBytes is the longest id or mediaId accepted (spec §6).
const MaxNameBytes = 255

// ValidateName checks that an id or mediaId can safely name a folder or a
// file inside targetDir (spec §6). Besides the spec's list it refuses "." (it
// would name the parent folder itself), ":" (a drive or an NTFS alternate
// stream on Windows) and invalid UTF-8; real IDs never contain them.
func ValidateName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNameBytes:
		return fmt.Errorf("longer than %d bytes (%d)", MaxNameBytes, len(s))
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case s == ".":
		return errors.New(`is "."`)
	case strings.Contains(s, ".."):
		return errors.New(`contains ".."`)
	}
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || r == ':':
			return fmt.Errorf("contains %q", r)
		case r == 0 || unicode.IsControl(r):
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// Validate reports why the recording cannot be backed up: a decoding error,
// an unsafe id or mediaId, or two media files with the same mediaId (they
// would overwrite each other's file). A recording that fails Validate can
// never succeed, however often it is retried.
func (r Recording) Validate() error {
	if r.invalid != nil {
		return r.invalid
	}
	if err := ValidateName(r.ID); err != nil {
		return fmt.Errorf("recording id %q: %w", r.ID, err)
	}
	seen := make(map[string]bool, len(r.MediaFiles))
	for i, m := range r.MediaFiles {
		if err := ValidateName(m.MediaID); err != nil {
			return fmt.Errorf("recording %s: mediaFiles[%d] mediaId %q: %w", r.ID, i, m.MediaID, err)
		}
		if seen[m.MediaID] {
			return fmt.Errorf("recording %s: mediaId %s appears twice", r.ID, m.MediaID)
		}
		seen[m.MediaID] = true
	}
	return nil
}

// UnmarshalJSON decodes one recording resource leniently (see
// DecodeRecording) and keeps a copy of the bytes in Raw.
func (r *Recording) UnmarshalJSON(data []byte) error {
	rec, err := DecodeRecording(data)
	*r = rec
	return err
}

// wireRecording is the JSON shape of a recording; times and sizes stay raw
// because the API sends them in several layouts.
type wireRecording struct {
	ID         json.RawMessage `json:"id"`
	StartTime  json.RawMessage `json:"startTime"`
	StopTime   json.RawMessage `json:"stopTime"`
	MediaFiles []wireMedia     `json:"mediaFiles"`
}

type wireMedia struct {
	MediaID         json.RawMessage `json:"mediaId"`
	Type            json.RawMessage `json:"type"`
	Size            json.RawMessage `json:"size"`
	Duration        json.RawMessage `json:"duration"`
	StartTime       json.RawMessage `json:"startTime"`
	StopTime        json.RawMessage `json:"stopTime"`
	MediaURI        json.RawMessage `json:"mediaUri"`
	MediaPath       json.RawMessage `json:"mediaPath"`
	MediaDescriptor *wireDescriptor `json:"mediaDescriptor"`
}

type wireDescriptor struct {
	Storage json.RawMessage `json:"storage"`
	Path    json.RawMessage `json:"path"`
	Data    *struct {
		Bucket json.RawMessage `json:"bucket"`
	} `json:"data"`
}

// DecodeRecording decodes one recording resource. Raw is a copy of data. On
// error the returned Recording still carries Raw and whatever was read (the
// id above all), so the caller can name it; the error names it too.
func DecodeRecording(data []byte) (Recording, error) {
	return decodeOwned(append(json.RawMessage(nil), data...))
}

// decodeOwned is DecodeRecording for bytes the recording may keep as Raw.
func decodeOwned(data json.RawMessage) (Recording, error) {
	rec := Recording{Raw: data}
	var w wireRecording
	if err := json.Unmarshal(data, &w); err != nil {
		rec.ID = peekID(data)
		return rec.fail(fmt.Errorf("recording %s: %w", nameOr(rec.ID), err))
	}
	var err error
	if rec.ID, err = jsonString(w.ID); err != nil {
		return rec.fail(fmt.Errorf("recording: id: %w", err))
	}
	name := nameOr(rec.ID)
	if rec.StartTime, err = parseTime(w.StartTime); err != nil {
		return rec.fail(fmt.Errorf("recording %s: startTime: %w", name, err))
	}
	if rec.StartTime.IsZero() {
		return rec.fail(fmt.Errorf("recording %s: startTime missing", name))
	}
	if rec.StopTime, err = parseTime(w.StopTime); err != nil {
		return rec.fail(fmt.Errorf("recording %s: stopTime: %w", name, err))
	}
	rec.MediaFiles = make([]MediaFile, 0, len(w.MediaFiles))
	for i, wm := range w.MediaFiles {
		m, err := wm.decode()
		rec.MediaFiles = append(rec.MediaFiles, m)
		if err != nil {
			return rec.fail(fmt.Errorf("recording %s: mediaFiles[%d]: %w", name, i, err))
		}
	}
	return rec, nil
}

func (r Recording) fail(err error) (Recording, error) {
	r.invalid = err
	return r, err
}

// nameOr names a recording in an error even when its id is missing.
func nameOr(id string) string {
	if id == "" {
		return "(no id)"
	}
	return fmt.Sprintf("%q", id)
}

// peekID recovers the id of a recording whose other fields do not decode.
func peekID(data []byte) string {
	var w struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &w) != nil {
		return ""
	}
	id, _ := jsonString(w.ID)
	return id
}

func (wm wireMedia) decode() (MediaFile, error) {
	var m MediaFile
	var err error
	fields := []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{
		{"mediaId", wm.MediaID, &m.MediaID}, {"type", wm.Type, &m.Type},
		{"duration", wm.Duration, &m.Duration}, {"mediaUri", wm.MediaURI, &m.MediaURI},
		{"mediaPath", wm.MediaPath, &m.MediaPath},
	}
	for _, f := range fields {
		if *f.dst, err = jsonScalar(f.raw); err != nil {
			return m, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if m.Size, err = parseSize(wm.Size); err != nil {
		return m, fmt.Errorf("media %s: size: %w", m.MediaID, err)
	}
	if m.StartTime, err = parseTime(wm.StartTime); err != nil {
		return m, fmt.Errorf("media %s: startTime: %w", m.MediaID, err)
	}
	if m.StopTime, err = parseTime(wm.StopTime); err != nil {
		return m, fmt.Errorf("media %s: stopTime: %w", m.MediaID, err)
	}
	if err := wm.MediaDescriptor.apply(&m); err != nil {
		return m, fmt.Errorf("media %s: mediaDescriptor: %w", m.MediaID, err)
	}
	return m, nil
}

// apply sets Bucket and Key from an awsS3 descriptor; any other storage
// leaves the media to be fetched through the API.
func (d *wireDescriptor) apply(m *MediaFile) error {
	if d == nil {
		return nil
	}
	storage, err := jsonString(d.Storage)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if !strings.EqualFold(storage, "awsS3") {
		return nil
	}
	if m.Key, err = jsonString(d.Path); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	if d.Data != nil {
		if m.Bucket, err = jsonString(d.Data.Bucket); err != nil {
			return fmt.Errorf("data.bucket: %w", err)
		}
	}
	return nil
}
