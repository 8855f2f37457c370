package cloudsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/rcbs/rcbs/cms"
)

// The JSON shapes of a recording, in the vendor's key order. Fields rcbs
// does not read (tenant, sequence, callType, ...) are there to prove that
// unknown keys round-trip into recording.json unchanged.
type apiRecording struct {
	ID                string       `json:"id"`
	CallerPhoneNumber string       `json:"callerPhoneNumber"`
	DialedPhoneNumber string       `json:"dialedPhoneNumber"`
	StartTime         any          `json:"startTime"`
	StopTime          any          `json:"stopTime"`
	MediaFiles        []apiMedia   `json:"mediaFiles"`
	Region            string       `json:"region"`
	EventHistory      []apiEvent   `json:"eventHistory"`
	Tenant            string       `json:"tenant"`
	CallType          string       `json:"callType"`
	Sequence          json.Number  `json:"sequence"` // beyond float64 precision on purpose
	Extension         *apiUnknowns `json:"x-vendor-extension,omitempty"`
}

type apiMedia struct {
	StartTime       any            `json:"startTime"`
	StopTime        any            `json:"stopTime"`
	CallUUID        string         `json:"callUUID"`
	MediaID         string         `json:"mediaId"`
	Type            string         `json:"type"`
	Duration        string         `json:"duration"`
	Tenant          string         `json:"tenant"`
	IVRProfile      string         `json:"ivrprofile,omitempty"`
	Size            any            `json:"size"`
	Parameters      map[string]any `json:"parameters"`
	Masks           []apiMask      `json:"masks,omitempty"`
	MediaDescriptor *apiDescriptor `json:"mediaDescriptor,omitempty"`
	MediaURI        string         `json:"mediaUri,omitempty"`
	MediaPath       string         `json:"mediaPath,omitempty"`
}

type apiDescriptor struct {
	Storage string            `json:"storage"`
	Data    map[string]string `json:"data"`
	Path    string            `json:"path"`
}

type apiMask struct {
	Time any    `json:"time"`
	Type string `json:"type"`
}

type apiEvent struct {
	OccurredAt any            `json:"occurredAt"`
	Event      string         `json:"event"`
	AgentID    string         `json:"agentId,omitempty"`
	Contacts   []string       `json:"contacts,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

type apiUnknowns struct {
	Note    string    `json:"note"`
	Nested  []any     `json:"nested"`
	Ratio   float64   `json:"ratio"`
	Flagged bool      `json:"flagged"`
	Empty   *struct{} `json:"empty"`
}

// genRecording is one recording as the cloud keeps it: the exported view
// and the document its JSON is rendered from (mediaUri needs the API's
// address, known only once it listens).
type genRecording struct {
	pub    Recording
	doc    apiRecording
	blobs  []*blob
	viaURI []bool // mediaUri (absolute) rather than mediaPath, per media
	// lastStop is when the last media file ends; the call ends after it.
	lastStop time.Time
}

// Time layouts of §7; layoutZ has no milliseconds.
const (
	layoutOffset = iota // 2015-09-10T16:58:22.000+0000
	layoutZ             // 2015-09-10T16:58:22Z
	layoutColon         // 2015-09-10T16:58:22.123+02:00
	layoutEpoch         // 1441904302000 (a number)
	layoutCount
)

var zones = []*time.Location{time.FixedZone("", 2*3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800)}

func formatTime(t time.Time, layout int, r *rand.Rand) any {
	switch layout {
	case layoutZ:
		return t.UTC().Format("2006-01-02T15:04:05Z")
	case layoutColon:
		return t.In(zones[r.IntN(len(zones))]).Format("2006-01-02T15:04:05.000-07:00")
	case layoutEpoch:
		return t.UnixMilli()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

// generator draws recordings from one seeded stream. Not safe for
// concurrent use: the Cloud serialises calls.
type generator struct {
	opts Options
	rng  *rand.Rand
	ids  map[string]bool
	seq  int // media files generated, for unique spool names
}

func newGenerator(opts Options) *generator {
	return &generator{opts: opts, rng: rand.New(rand.NewPCG(uint64(opts.Seed), 0x52434253)), ids: map[string]bool{}}
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (g *generator) newID(r *rand.Rand) string {
	for {
		b := make([]byte, 32)
		for i := range b {
			b[i] = idAlphabet[r.IntN(len(idAlphabet))]
		}
		if id := string(b); !g.ids[id] {
			g.ids[id] = true
			return id
		}
	}
}

// startTime draws a start in [start, end) at millisecond precision; the
// layout without milliseconds gets a whole second that still lies inside.
func startTime(r *rand.Rand, start, end time.Time, layout *int) time.Time {
	span := end.Sub(start).Milliseconds()
	t := start.Add(time.Duration(r.Int64N(max(span, 1))) * time.Millisecond)
	if *layout != layoutZ {
		return t
	}
	if s := t.Truncate(time.Second); !s.Before(start) {
		return s
	} else if s = s.Add(time.Second); s.Before(end) {
		return s
	}
	*layout = layoutOffset
	return t
}

// next draws one recording's metadata and media specs. Each recording has
// its own stream seeded from the main one, so that the draws of one do not
// shift with the shape of another.
func (g *generator) next(start, end time.Time) (*genRecording, []mediaSpec) {
	r := rand.New(rand.NewPCG(g.rng.Uint64(), g.rng.Uint64()))
	id := g.newID(r)
	layout := r.IntN(layoutCount)
	t0 := startTime(r, start, end, &layout)
	rec := &genRecording{pub: Recording{ID: id, StartTime: t0}}
	agent := fmt.Sprintf("agent%03d", r.IntN(400))
	rec.doc = apiRecording{
		ID:                id,
		CallerPhoneNumber: phone(r),
		DialedPhoneNumber: phone(r),
		StartTime:         formatTime(t0, layout, r),
		Region:            g.opts.Region,
		Tenant:            "Environment",
		CallType:          []string{"Inbound", "Outbound", "Internal"}[r.IntN(3)],
		Sequence:          json.Number(strconv.FormatUint(1<<60+r.Uint64N(1<<59), 10)),
	}
	if r.IntN(3) == 0 {
		rec.doc.Extension = &apiUnknowns{Note: "Zoë Müller — \u00e9t\u00e9 \u2603", Nested: []any{1, "two", []int{3}}, Ratio: 0.1, Flagged: true}
	}
	specs := g.media(r, rec, agent)
	stop := rec.lastStop.Add(time.Duration(r.IntN(5000)) * time.Millisecond)
	rec.doc.StopTime = formatTime(stop, r.IntN(layoutCount), r)
	rec.doc.EventHistory = events(r, t0, stop, agent, rec.doc.CallerPhoneNumber)
	return rec, specs
}

// media draws 1–3 voice files (mostly 1) and, for a fifth of the calls, a
// screen recording.
func (g *generator) media(r *rand.Rand, rec *genRecording, agent string) []mediaSpec {
	n := 1
	if p := r.IntN(20); p >= 19 {
		n = 3
	} else if p >= 16 {
		n = 2
	}
	types := make([]string, n)
	for i := range types {
		types[i] = "audio/mp3"
	}
	if r.IntN(5) == 0 {
		types = append(types, "video/mp4")
	}
	types = append(types, g.opts.ExtraMediaTypes...)
	var specs []mediaSpec
	for i, typ := range types {
		spec, m, viaURI := g.oneMedia(r, rec, i, typ, agent)
		specs = append(specs, spec)
		rec.doc.MediaFiles = append(rec.doc.MediaFiles, m)
		rec.viaURI = append(rec.viaURI, viaURI)
	}
	return specs
}

// oneMedia draws media file i of rec: its bytes' spec, its JSON and
// whether the JSON gives an absolute mediaUri.
func (g *generator) oneMedia(r *rand.Rand, rec *genRecording, i int, typ, agent string) (mediaSpec, apiMedia, bool) {
	t0 := rec.pub.StartTime.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
	ext, kbps := "mp3", int64(32)
	if typ == "video/mp4" {
		ext, kbps = "mp4", 256
	}
	spec := g.drawSpec(r, typ)
	spec.spoolName = fmt.Sprintf("%06d-%s-%d", g.seq, rec.pub.ID, i)
	durMS := spec.plainSize * 8 / kbps // bytes at kbps → milliseconds
	stop := t0.Add(time.Duration(durMS) * time.Millisecond)
	if stop.After(rec.lastStop) {
		rec.lastStop = stop
	}
	mediaID := fmt.Sprintf("%s_%s-%08X-%08X-%08d.%s", rec.pub.ID, t0.UTC().Format("2006-01-02_15-04-05"),
		r.Uint32(), r.Uint32(), i+1, ext)
	m := apiMedia{
		StartTime:  formatTime(t0, r.IntN(layoutCount), r),
		StopTime:   formatTime(stop, r.IntN(layoutCount), r),
		CallUUID:   fmt.Sprintf("%08X%08X%08X", r.Uint32(), r.Uint32(), r.Uint32()),
		MediaID:    mediaID,
		Type:       typ,
		Duration:   strconv.FormatInt(durMS, 10),
		Tenant:     "Environment",
		IVRProfile: "default",
		Parameters: map[string]any{"agentId": agent, "ani": rec.doc.CallerPhoneNumber,
			"dnis": rec.doc.DialedPhoneNumber, "recordingType": "voice"},
	}
	if typ == "video/mp4" {
		m.Parameters["recordingType"], m.IVRProfile = "screen", ""
	}
	if r.IntN(4) == 0 {
		m.Masks = []apiMask{{Time: formatTime(t0.Add(time.Second), r.IntN(layoutCount), r), Type: "pause"}}
	}
	viaURI := g.place(r, rec, &m)
	return spec, m, viaURI
}

// drawSpec draws a media file's size, plaintext and encryption.
func (g *generator) drawSpec(r *rand.Rand, typ string) mediaSpec {
	g.seq++
	spec := mediaSpec{plainSize: g.plainSize(r, typ), recipients: 1, cipher: cms.AES128CBC}
	if typ == "audio/mp3" { // whole frames, so that the duration below is the playing time
		spec.mp3, spec.plainSize = true, mp3Size(spec.plainSize)
	}
	fillSeed(r, &spec.plainSeed)
	fillSeed(r, &spec.encSeed)
	spec.encrypted = r.Float64() >= g.opts.UnencryptedShare
	if r.IntN(2) == 0 {
		spec.cipher = cms.AES256CBC
	}
	if r.IntN(10) == 0 {
		spec.recipients = 2
	}
	spec.sizeAsNumber = r.IntN(5) == 0
	return spec
}

// place puts the media in S3 (a descriptor) or behind the API (mediaPath,
// swapped for an absolute mediaUri by render when it reports true).
func (g *generator) place(r *rand.Rand, rec *genRecording, m *apiMedia) (viaURI bool) {
	pub := Media{MediaID: m.MediaID, Type: m.Type}
	if r.Float64() < g.opts.APIMediaShare {
		m.MediaPath = mediaRoute(rec.pub.ID, m.MediaID)
		viaURI = r.IntN(2) == 0
	} else {
		pub.Bucket = g.opts.Bucket
		pub.Key = fmt.Sprintf("%s/%s/%s", tenantPrefix, rec.pub.StartTime.UTC().Format("2006/01/02"), m.MediaID)
		m.MediaDescriptor = &apiDescriptor{Storage: "awsS3", Data: map[string]string{"bucket": pub.Bucket}, Path: pub.Key}
	}
	rec.pub.Media = append(rec.pub.Media, pub)
	return viaURI
}

// tenantPrefix starts every S3 key, as the vendor's keys start with the
// tenant's ID.
const tenantPrefix = "0b5ec0a5-7e4a-4c1d-9a55-7c2f0d1e3b6a"

// mediaRoute is the path of an API-served media file under the API prefix.
func mediaRoute(id, mediaID string) string {
	return "/recordings/" + id + "/media/" + mediaID
}

func (g *generator) plainSize(r *rand.Rand, typ string) int64 {
	const kb, mb = 1 << 10, 1 << 20
	lo, hi := int64(1*kb), int64(64*kb)
	switch {
	case g.opts.Profile == "large" && typ == "video/mp4":
		lo, hi = 16*mb, 64*mb
	case g.opts.Profile == "large":
		lo, hi = 8*mb, 32*mb
	case typ == "video/mp4":
		lo = 16 * kb
	}
	return lo + r.Int64N(hi-lo+1)
}

func fillSeed(r *rand.Rand, s *[32]byte) {
	for i := 0; i < 32; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			s[i+j] = byte(v >> (8 * j))
		}
	}
}

func phone(r *rand.Rand) string {
	return fmt.Sprintf("+1%03d555%04d", 200+r.IntN(800), r.IntN(10000))
}

// events draws the call's history: the agent joins, data is attached, the
// agent leaves. rcbs keeps it without reading it.
func events(r *rand.Rand, t0, stop time.Time, agent, caller string) []apiEvent {
	span := max(stop.Sub(t0), time.Millisecond)
	at := func() any { return formatTime(t0.Add(time.Duration(r.Int64N(int64(span)))), r.IntN(layoutCount), r) }
	ev := []apiEvent{{OccurredAt: formatTime(t0, layoutOffset, r), Event: "joined", AgentID: agent, Contacts: []string{caller}}}
	for range r.IntN(3) {
		ev = append(ev, apiEvent{OccurredAt: at(), Event: "data",
			Data: map[string]any{"added": map[string]any{"CustomerSegment": []string{"gold", "silver", "bronze"}[r.IntN(3)], "CaseNumber": r.IntN(1_000_000)}}})
	}
	return append(ev, apiEvent{OccurredAt: formatTime(stop, layoutOffset, r), Event: "left", AgentID: agent})
}

// render (re)builds the recording's JSON for an API served at base
// (e.g. http://127.0.0.1:PORT/api/v2).
func (rec *genRecording) render(base string) error {
	for i := range rec.doc.MediaFiles {
		m := &rec.doc.MediaFiles[i]
		if rec.viaURI[i] {
			m.MediaURI, m.MediaPath = base+mediaRoute(rec.pub.ID, m.MediaID), ""
		}
	}
	b, err := json.Marshal(rec.doc)
	if err != nil {
		return fmt.Errorf("render recording %s: %w", rec.pub.ID, err)
	}
	rec.pub.JSON = b
	return nil
}
