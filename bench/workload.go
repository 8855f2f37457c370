// Package bench builds the standard download-benchmark workloads (issue 7):
// a deterministic set of recordings, their media objects in an S3 server, and
// a recordings API serving their metadata; and it summarises the timings that
// scripts/bench collects into the tables of BENCHMARKS.md.
//
// It generates its own recordings rather than using cloudsim because the
// benchmark needs exact shapes that cloudsim's profiles do not give (two media
// of 20–200 KB per recording, files of exactly 64 MiB) and 100,000
// recordings whose media are never held in memory: a recording here is a pure
// function of (workload, index), so the API renders any page on demand and the
// uploader streams each object from a seeded generator.
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// KiB and MiB are the units of the workloads' sizes.
const (
	KiB = 1 << 10
	MiB = 1 << 20
)

// Workload is one data set: Recordings recordings with MediaPer media files
// each, of MinSize..MaxSize bytes (uniform), their startTimes spread evenly
// over [Start, Start+Span).
type Workload struct {
	Name             string
	Recordings       int
	MediaPer         int
	MinSize, MaxSize int64
	Type             string // media type of every file: audio/mp3 or video/mp4
	Seed             uint64
	Start            time.Time
	Span             time.Duration
	Bucket           string
	Prefix           string // every key starts with Prefix + "/", so peers copy s3://Bucket/Prefix/*
}

// epoch is where every workload's window starts: fixed, so that folders and
// IDs are the same on every machine.
func epoch() time.Time { return time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) }

// DefaultBucket holds every workload's media, each under its own prefix.
const DefaultBucket = "rcbs-bench"

// Standard returns the workload by name; quick shrinks it for a
// smoke test. recordings > 0 overrides the count (workload c runs at 1,000
// and at 100,000). Names: a (2,000 recordings × 2 media of 20–200 KiB),
// b (20 files of 64 MiB), c (100,000 recordings, metadata only).
func Standard(name string, quick bool, recordings int) (Workload, error) {
	w := Workload{Name: name, Seed: 7, Start: epoch(), Span: 24 * time.Hour, Bucket: DefaultBucket, Prefix: name, MediaPer: 1, Type: "audio/mp3"}
	switch name {
	case "a":
		w.Recordings, w.MediaPer, w.MinSize, w.MaxSize = pick(quick, 200, 2000), 2, 20*KiB, 200*KiB
	case "b":
		w.Recordings, w.Type = pick(quick, 4, 20), "video/mp4"
		w.MinSize = int64(pick(quick, 8, 64)) * MiB
		w.MaxSize = w.MinSize
	case "c":
		w.Recordings, w.MinSize, w.MaxSize = pick(quick, 5000, 100000), 20*KiB, 200*KiB
	default:
		return Workload{}, fmt.Errorf("workload %q: want a, b or c", name)
	}
	if recordings > 0 {
		w.Recordings = recordings
	}
	return w, nil
}

func pick(quick bool, small, full int) int {
	if quick {
		return small
	}
	return full
}

// End is the end of the window: no recording starts at or after it.
func (w Workload) End() time.Time { return w.Start.Add(w.Span) }

// startOf is recording i's startTime, in whole milliseconds.
func (w Workload) startOf(i int) time.Time {
	step := w.Span.Milliseconds() * int64(i) / int64(max(w.Recordings, 1))
	return w.Start.Add(time.Duration(step) * time.Millisecond)
}

// IndexAt returns the first recording index whose startTime is ≥ t
// (Recordings when none is).
func (w Workload) IndexAt(t time.Time) int {
	return sort.Search(w.Recordings, func(i int) bool { return !w.startOf(i).Before(t) })
}

// Media is one media object of a workload.
type Media struct {
	MediaID string
	Key     string
	Size    int64
	seed    [32]byte // its bytes are a ChaCha8 stream from this seed
}

// cmsHead starts every object: a DER SEQUENCE header (4-byte length) and
// the envelopedData OID, the first 17 bytes of a CMS file as the vendor
// stores media. rcbs sniffs these to tell encrypted media from plaintext;
// with random bytes alone it would take its "arrived unencrypted" path (a
// warning per file) that production never takes. The rest is random: the
// objects are not decryptable, and the benchmark never decrypts.
func cmsHead(size int64) []byte {
	n := uint32(size - 6)
	return []byte{0x30, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n),
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03}
}

// minMediaSize fits cmsHead.
const minMediaSize = 17

// Open returns the object's bytes, generated as they are read.
func (m Media) Open() io.Reader {
	head := cmsHead(m.Size)
	return io.MultiReader(bytes.NewReader(head), io.LimitReader(rand.NewChaCha8(m.seed), m.Size-int64(len(head))))
}

// Recording is one recording of a workload.
type Recording struct {
	ID    string
	Start time.Time
	Media []Media
	meta  uint64 // seeds the metadata's incidental fields (phones, times)
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// Recording returns recording i (0 ≤ i < Recordings): the same for the same
// workload and index on every call.
func (w Workload) Recording(i int) Recording {
	r := rand.New(rand.NewPCG(w.Seed, uint64(i)<<8|uint64(nameTag(w.Name))))
	id := make([]byte, 32)
	for k := range 24 {
		id[k] = idChars[r.IntN(len(idChars))]
	}
	copy(id[24:], fmt.Sprintf("%08s", strconv.FormatInt(int64(i), 36))) // unique per index
	for k := 24; k < 32; k++ {
		if id[k] >= 'a' {
			id[k] -= 'a' - 'A'
		}
	}
	rec := Recording{ID: string(id), Start: w.startOf(i)}
	for j := range w.MediaPer {
		rec.Media = append(rec.Media, w.media(r, rec, j))
	}
	rec.meta = r.Uint64()
	return rec
}

func nameTag(name string) byte {
	if name == "" {
		return 0
	}
	return name[0]
}

func (w Workload) media(r *rand.Rand, rec Recording, j int) Media {
	ext := "mp3"
	if w.Type == "video/mp4" {
		ext = "mp4"
	}
	m := Media{Size: max(w.MinSize, minMediaSize)}
	if w.MaxSize > w.MinSize {
		m.Size += r.Int64N(w.MaxSize - w.MinSize + 1)
	}
	for k := 0; k < 32; k += 8 {
		v := r.Uint64()
		for b := range 8 {
			m.seed[k+b] = byte(v >> (8 * b))
		}
	}
	m.MediaID = fmt.Sprintf("%s_%s-%08X-%08X-%08d.%s", rec.ID, rec.Start.Format("2006-01-02_15-04-05"),
		r.Uint32(), r.Uint32(), j+1, ext)
	m.Key = fmt.Sprintf("%s/%s/%s", w.Prefix, rec.Start.Format("2006/01/02"), m.MediaID)
	return m
}

// Totals are a workload's object count and bytes.
type Totals struct {
	Recordings, Media int
	Bytes             int64
}

// Totals walks every recording (cheap: no media bytes are generated).
func (w Workload) Totals() Totals {
	t := Totals{Recordings: w.Recordings}
	for i := range w.Recordings {
		for _, m := range w.Recording(i).Media {
			t.Media++
			t.Bytes += m.Size
		}
	}
	return t
}

// The JSON shapes of a recording as the vendor's API sends it (spec §7).
type apiRecording struct {
	ID                string      `json:"id"`
	CallerPhoneNumber string      `json:"callerPhoneNumber"`
	DialedPhoneNumber string      `json:"dialedPhoneNumber"`
	StartTime         string      `json:"startTime"`
	StopTime          string      `json:"stopTime"`
	MediaFiles        []apiMedia  `json:"mediaFiles"`
	Region            string      `json:"region"`
	EventHistory      []apiEvent  `json:"eventHistory"`
	Tenant            string      `json:"tenant"`
	Sequence          json.Number `json:"sequence"`
}

type apiMedia struct {
	StartTime       string         `json:"startTime"`
	StopTime        string         `json:"stopTime"`
	MediaID         string         `json:"mediaId"`
	Type            string         `json:"type"`
	Duration        string         `json:"duration"`
	Size            string         `json:"size"`
	Parameters      map[string]any `json:"parameters"`
	MediaDescriptor apiDescriptor  `json:"mediaDescriptor"`
}

type apiDescriptor struct {
	Storage string            `json:"storage"`
	Data    map[string]string `json:"data"`
	Path    string            `json:"path"`
}

type apiEvent struct {
	OccurredAt string   `json:"occurredAt"`
	Event      string   `json:"event"`
	AgentID    string   `json:"agentId,omitempty"`
	Contacts   []string `json:"contacts,omitempty"`
}

const timeLayout = "2006-01-02T15:04:05.000-0700"

// JSON renders the recording as the API serves it: about 1 KB, the size of
// the vendor's resources, so listing costs what it costs in production.
func (rec Recording) JSON(bucket string) ([]byte, error) {
	r := rand.New(rand.NewPCG(rec.meta, 0x6d657461))
	caller, dialed := phone(r), phone(r)
	stop := rec.Start.Add(time.Duration(30+r.IntN(600)) * time.Second)
	doc := apiRecording{
		ID: rec.ID, CallerPhoneNumber: caller, DialedPhoneNumber: dialed,
		StartTime: rec.Start.Format(timeLayout), StopTime: stop.Format(timeLayout),
		Region: "us-west", Tenant: "Environment", Sequence: json.Number(strconv.FormatUint(r.Uint64(), 10)),
		EventHistory: []apiEvent{
			{OccurredAt: rec.Start.Format(timeLayout), Event: "Joined", AgentID: "agent7", Contacts: []string{caller}},
			{OccurredAt: stop.Format(timeLayout), Event: "Left", AgentID: "agent7"},
		},
	}
	for _, m := range rec.Media {
		doc.MediaFiles = append(doc.MediaFiles, apiMedia{
			StartTime: rec.Start.Format(timeLayout), StopTime: stop.Format(timeLayout),
			MediaID: m.MediaID, Type: mediaType(m.MediaID), Duration: strconv.FormatInt(stop.Sub(rec.Start).Milliseconds(), 10),
			Size:            strconv.FormatInt(m.Size, 10),
			Parameters:      map[string]any{"agentId": "agent7", "ani": caller, "dnis": dialed, "recordingType": "voice"},
			MediaDescriptor: apiDescriptor{Storage: "awsS3", Data: map[string]string{"bucket": bucket}, Path: m.Key},
		})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render recording %s: %w", rec.ID, err)
	}
	return b, nil
}

func mediaType(mediaID string) string {
	if len(mediaID) > 4 && mediaID[len(mediaID)-4:] == ".mp4" {
		return "video/mp4"
	}
	return "audio/mp3"
}

func phone(r *rand.Rand) string {
	return fmt.Sprintf("+1555%07d", r.IntN(10_000_000))
}
