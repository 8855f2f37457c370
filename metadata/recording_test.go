package metadata

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2015, 9, 10, 16, 58, 22, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2015-09-10T16:58:22.000+0000"`, want},
		{`"2015-09-10T16:58:22+0000"`, want},
		{`"2015-09-10T16:58:22Z"`, want},
		{`"2015-09-10T16:58:22.000Z"`, want},
		{`"2015-09-10T18:58:22+02:00"`, want},
		{`"2015-09-10T18:58:22.123+02:00"`, want.Add(123 * time.Millisecond)},
		{`"2015-09-10T11:58:22.5-0500"`, want.Add(500 * time.Millisecond)},
		{`"2015-09-10 16:58:22Z"`, want},
		{`"2015-09-10T16:58:22"`, want}, // no zone: GMT
		{`1441904302000`, want},
		{`1441904302123`, want.Add(123 * time.Millisecond)},
		{`1.441904302e12`, want},
		{`"1441904302000"`, want},
		{` "1441904302000" `, want},
		{`null`, time.Time{}},
		{``, time.Time{}},
		{`""`, time.Time{}},
	}
	for _, tt := range tests {
		got, err := parseTime(json.RawMessage(tt.in))
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%s) = %v, %v; want %v UTC", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `"2015-09-10"`, `true`, `{}`, `[1]`, `1e300`, `"99999999999999999999"`, `"2015-13-10T16:58:22Z"`, `-1e20`} {
		if got, err := parseTime(json.RawMessage(bad)); err == nil {
			t.Errorf("parseTime(%s) = %v, want an error", bad, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{`12345`, 12345, ""},
		{`"12345"`, 12345, ""},
		{`" 12345 "`, 12345, ""},
		{`0`, 0, ""},
		{`"0"`, 0, ""},
		{`1.2e4`, 12000, ""},
		{``, -1, ""},
		{`null`, -1, ""},
		{`""`, -1, ""},
		{`-1`, 0, "negative"},
		{`"-20"`, 0, "negative"},
		{`9007199254740993`, 0, "absurd"},
		{`"1e30"`, 0, "not a byte count"},
		{`1.5`, 0, "not a byte count"},
		{`"ten"`, 0, "not a byte count"},
		{`true`, 0, "not a byte count"},
	}
	for _, tt := range tests {
		got, err := parseSize(json.RawMessage(tt.in))
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("parseSize(%s) = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseSize(%s) = %d, %v; want an error with %q", tt.in, got, err, tt.wantErr)
		}
	}
}

// vendorRecording is shaped like the vendor's documentation, with keys rcbs
// does not know, odd spacing and escapes that must survive byte for byte.
const vendorRecording = `{
  "id" : "01F62DGIBGD8369P7GC362LAES00000G",
  "startTime": "2018-02-12T19:01:07.000+0000",
  "stopTime": 1518462127000,
  "callerPhoneNumber": "+1 555 0100",
  "dialedPhoneNumber": "5000",
  "region": "region1",
  "eventHistory": [{"occurredAt": "2018-02-12T19:01:08.000Z", "parameters": {"k": 1.50}}],
  "x-vendor-new": {"nested": ["caf\u00e9", 1e3, null, true]},
  "mediaFiles": [
    {"mediaId": "01F62DGIBGD8369P7GC362LAES00000G_2018-02-12_19-01-07-00570000-0000002E-00000001.mp3",
     "type": "audio/mp3", "size": "4096", "duration": "60000",
     "startTime": "2018-02-12T19:01:07Z", "stopTime": "2018-02-12T21:02:07.250+02:00",
     "mediaDescriptor": {"storage": "awsS3", "data": {"bucket": "acme-recordings"}, "path": "2018/02/12/a.mp3.bin"}},
    {"mediaId": "screen.mp4", "type": "video/mp4", "size": 123, "duration": 61,
     "mediaUri": "https://example.com/api/v2/recordings/x/play/screen.mp4",
     "mediaDescriptor": {"storage": "gcs", "data": {"bucket": "other"}, "path": "p"}},
    {"mediaId": "nosize.mp3", "type": "audio/mp3", "mediaPath": "/recordings/x/media/nosize.mp3"}
  ]
}`

func TestDecodeRecording(t *testing.T) {
	r, err := DecodeRecording([]byte(vendorRecording))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Raw, []byte(vendorRecording)) {
		t.Errorf("Raw is not the bytes as sent:\n%s", r.Raw)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	start := time.Date(2018, 2, 12, 19, 1, 7, 0, time.UTC)
	if r.ID != "01F62DGIBGD8369P7GC362LAES00000G" || !r.StartTime.Equal(start) || !r.StopTime.Equal(start.Add(time.Minute)) {
		t.Errorf("recording %q %v %v", r.ID, r.StartTime, r.StopTime)
	}
	want := []MediaFile{
		{MediaID: "01F62DGIBGD8369P7GC362LAES00000G_2018-02-12_19-01-07-00570000-0000002E-00000001.mp3",
			Type: "audio/mp3", Size: 4096, Duration: "60000", StartTime: start,
			StopTime: start.Add(time.Minute + 250*time.Millisecond), Bucket: "acme-recordings", Key: "2018/02/12/a.mp3.bin"},
		{MediaID: "screen.mp4", Type: "video/mp4", Size: 123, Duration: "61",
			MediaURI: "https://example.com/api/v2/recordings/x/play/screen.mp4"},
		{MediaID: "nosize.mp3", Type: "audio/mp3", Size: -1, MediaPath: "/recordings/x/media/nosize.mp3"},
	}
	if len(r.MediaFiles) != len(want) {
		t.Fatalf("%d media files, want %d", len(r.MediaFiles), len(want))
	}
	for i, m := range r.MediaFiles {
		if m != want[i] {
			t.Errorf("media %d:\n got %+v\nwant %+v", i, m, want[i])
		}
	}
	if !r.MediaFiles[0].InS3() || r.MediaFiles[1].InS3() || r.MediaFiles[2].InS3() {
		t.Error("InS3 wrong: only the awsS3 descriptor is in S3")
	}
	// The bytes written to recording.json keep unknown keys after indenting.
	var buf bytes.Buffer
	if err := json.Indent(&buf, r.Raw, "", "  "); err != nil || !strings.Contains(buf.String(), `"x-vendor-new"`) || !strings.Contains(buf.String(), `caf\u00e9`) {
		t.Errorf("indent lost unknown keys: %v\n%s", err, buf.String())
	}
}

func TestRecordingUnmarshalJSON(t *testing.T) {
	var list []Recording
	if err := json.Unmarshal([]byte(`[`+vendorRecording+`]`), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !bytes.Equal(list[0].Raw, []byte(vendorRecording)) {
		t.Errorf("UnmarshalJSON did not keep the bytes")
	}
}

func TestDecodeRecordingErrors(t *testing.T) {
	const id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	tests := []struct {
		name, in, want string
	}{
		{"negative size", `{"id":"` + id + `","startTime":1,"mediaFiles":[{"mediaId":"m.mp3","size":-3}]}`, "negative"},
		{"absurd size", `{"id":"` + id + `","startTime":1,"mediaFiles":[{"mediaId":"m.mp3","size":"99999999999999999"}]}`, "absurd"},
		{"bad start", `{"id":"` + id + `","startTime":"soon"}`, "startTime"},
		{"no start", `{"id":"` + id + `"}`, "startTime missing"},
		{"bad stop", `{"id":"` + id + `","startTime":1,"stopTime":{}}`, "stopTime"},
		{"media time", `{"id":"` + id + `","startTime":1,"mediaFiles":[{"mediaId":"m","startTime":"x"}]}`, "startTime"},
		{"mediaFiles not a list", `{"id":"` + id + `","startTime":1,"mediaFiles":{}}`, id},
		{"descriptor path", `{"id":"` + id + `","startTime":1,"mediaFiles":[{"mediaId":"m","mediaDescriptor":{"storage":"awsS3","path":5}}]}`, "path"},
		{"id not a string", `{"id":12,"startTime":1}`, "id"},
		{"not an object", `"x"`, "recording"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRecording([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(tt.in, id) && !strings.Contains(err.Error(), id) {
				t.Errorf("error %q does not name the recording", err)
			}
			if verr := r.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate() = %v, want the decoding error", verr)
			}
			if string(r.Raw) != tt.in {
				t.Errorf("Raw %s, want the input", r.Raw)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	bad := []string{
		"",
		".",
		"..",
		"../etc",
		"a/../../b",
		"..\\..\\windows",
		"a/b",
		"/abs",
		"a\\b",
		"C:evil",
		"name\x00.mp3",
		"tab\there",
		"new\nline",
		"cr\rhere",
		"esc\x1b[31m",
		"del\x7f",
		"c1\u0085ctl",
		"bad\xffutf8",
		strings.Repeat("A", 256),
		"x..y",
	}
	for _, s := range bad {
		if err := ValidateName(s); err == nil {
			t.Errorf("ValidateName(%q) accepted a hostile name", s)
		}
	}
	good := []string{
		"01F62DGIBGD8369P7GC362LAES00000G",
		"01F62DGIBGD8369P7GC362LAES00000G_2018-02-12_19-01-07-00570000-0000002E-00000001.mp3",
		"a.b.c",
		".hidden",
		"café",
		strings.Repeat("A", 255),
	}
	for _, s := range good {
		if err := ValidateName(s); err != nil {
			t.Errorf("ValidateName(%q) = %v, want ok", s, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := MediaFile{MediaID: "m1.mp3"}
	tests := []struct {
		name string
		rec  Recording
		want string // "" = valid
	}{
		{"fine", Recording{ID: "ABC", MediaFiles: []MediaFile{ok, {MediaID: "m2.mp4"}}}, ""},
		{"no media", Recording{ID: "ABC"}, ""},
		{"bad id", Recording{ID: "../x"}, "recording id"},
		{"empty id", Recording{}, "empty"},
		{"bad mediaId", Recording{ID: "ABC", MediaFiles: []MediaFile{ok, {MediaID: "a/b"}}}, "mediaFiles[1]"},
		{"empty mediaId", Recording{ID: "ABC", MediaFiles: []MediaFile{{}}}, "mediaFiles[0]"},
		{"same mediaId twice", Recording{ID: "ABC", MediaFiles: []MediaFile{ok, ok}}, "twice"},
	}
	for _, tt := range tests {
		err := tt.rec.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}
