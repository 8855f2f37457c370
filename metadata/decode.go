package metadata

import (
	"encoding/json"
	"time"

	"github.com/rcbs/rcbs/internal/wire"
)

// MaxMediaSize is the largest size a media file may claim (S3's limit).
const MaxMediaSize = wire.MaxMediaSize

func parseTime(raw json.RawMessage) (time.Time, error) { return wire.Time(raw) }
func parseSize(raw json.RawMessage) (int64, error)     { return wire.Size(raw) }
func jsonString(raw json.RawMessage) (string, error)   { return wire.String(raw) }
func jsonScalar(raw json.RawMessage) (string, error)   { return wire.Scalar(raw) }
