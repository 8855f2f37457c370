// Package metadata is the client of the vendor's recordings API (spec §7)
// and the recording model it returns.
package metadata

import (
	"encoding/json"
	"time"
)

// Recording is one recording resource. Raw keeps the bytes exactly as the API
// sent them, so unknown keys round-trip into recording.json.
type Recording struct {
	ID         string
	StartTime  time.Time
	StopTime   time.Time
	MediaFiles []MediaFile
	Raw        json.RawMessage
}

// MediaFile is one entry of a recording's mediaFiles.
type MediaFile struct {
	MediaID   string
	Type      string
	Size      int64 // -1 when the metadata gives no size
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
