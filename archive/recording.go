package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rcbs/rcbs/internal/wire"
)

// RecordingFile marks a recording folder complete; it is written last.
const RecordingFile = "recording.json"

// Info is what the archive reads of a recording.json: the call's
// information for the index, the zip's PDF and the web page.
type Info struct {
	ID        string
	Start     time.Time // UTC
	Stop      time.Time // UTC; zero when absent
	Direction string    // the recording's callType (Inbound, Outbound, Internal, …)
	ANI       string    // callerPhoneNumber
	DNIS      string    // dialedPhoneNumber
	Tenant    string
	Agents    []string // agentIds of the event history, sorted, each once
	Media     []MediaInfo
	Events    []Event
}

// Duration is Stop − Start, or zero when either is unknown.
func (i Info) Duration() time.Duration {
	if i.Start.IsZero() || i.Stop.IsZero() || i.Stop.Before(i.Start) {
		return 0
	}
	return i.Stop.Sub(i.Start)
}

// MediaInfo is one entry of mediaFiles. File is its name in the folder.
type MediaInfo struct {
	ID   string
	Type string
	Size int64  // as the metadata gives it; -1 unknown
	File string // <mediaId>.bin
}

// Event is one entry of the event history, as far as it is shown.
type Event struct {
	Time    time.Time
	Name    string
	AgentID string
}

// The recording resource as far as the archive reads it; every other key
// is ignored here (recording.json keeps it).
type wireRecording struct {
	ID           json.RawMessage `json:"id"`
	StartTime    json.RawMessage `json:"startTime"`
	StopTime     json.RawMessage `json:"stopTime"`
	CallType     json.RawMessage `json:"callType"`
	Caller       json.RawMessage `json:"callerPhoneNumber"`
	Dialed       json.RawMessage `json:"dialedPhoneNumber"`
	Tenant       json.RawMessage `json:"tenant"`
	MediaFiles   []wireMedia     `json:"mediaFiles"`
	EventHistory []wireEvent     `json:"eventHistory"`
}

type wireMedia struct {
	MediaID json.RawMessage `json:"mediaId"`
	Type    json.RawMessage `json:"type"`
	Size    json.RawMessage `json:"size"`
}

type wireEvent struct {
	OccurredAt json.RawMessage `json:"occurredAt"`
	Event      json.RawMessage `json:"event"`
	AgentID    json.RawMessage `json:"agentId"`
}

// ParseInfo reads a recording.json. It fails on JSON that does not parse,
// a missing id or an unreadable startTime; other odd fields are left empty.
func ParseInfo(data []byte) (Info, error) {
	var w wireRecording
	if err := json.Unmarshal(data, &w); err != nil {
		return Info{}, fmt.Errorf("not a recording: %w", err)
	}
	var info Info
	var err error
	if info.ID, err = wire.Scalar(w.ID); err != nil || info.ID == "" {
		return Info{}, errors.New("not a recording: no id")
	}
	if info.Start, err = wire.Time(w.StartTime); err != nil || info.Start.IsZero() {
		return Info{}, fmt.Errorf("recording %s: no readable startTime", info.ID)
	}
	info.Stop, _ = wire.Time(w.StopTime)
	info.Direction, _ = wire.Scalar(w.CallType)
	info.ANI, _ = wire.Scalar(w.Caller)
	info.DNIS, _ = wire.Scalar(w.Dialed)
	info.Tenant, _ = wire.Scalar(w.Tenant)
	for _, m := range w.MediaFiles {
		id, _ := wire.Scalar(m.MediaID)
		typ, _ := wire.Scalar(m.Type)
		size, err := wire.Size(m.Size)
		if err != nil {
			size = -1
		}
		info.Media = append(info.Media, MediaInfo{ID: id, Type: typ, Size: size, File: id + ".bin"})
	}
	for _, ev := range w.EventHistory {
		t, _ := wire.Time(ev.OccurredAt)
		name, _ := wire.Scalar(ev.Event)
		agent, _ := wire.Scalar(ev.AgentID)
		info.Events = append(info.Events, Event{Time: t, Name: name, AgentID: agent})
		if agent != "" && !slices.Contains(info.Agents, agent) {
			info.Agents = append(info.Agents, agent)
		}
	}
	slices.Sort(info.Agents)
	return info, nil
}

// ReadInfo reads the recording.json of a recording folder.
func ReadInfo(dir string) (Info, error) {
	path := filepath.Join(dir, RecordingFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return Info{}, err
	}
	info, err := ParseInfo(data)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}
