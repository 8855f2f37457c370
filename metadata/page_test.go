package metadata

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecodePage(t *testing.T) {
	one := `{"id":"A","startTime":1}`
	tests := []struct {
		name     string
		in       string
		wantRecs int
		wantNext string
		wantErr  string
	}{
		{"plain", `{"statusCode":0,"recordings":[` + one + `,` + one + `]}`, 2, "", ""},
		{"paging next", `{"statusCode":0,"recordings":[],"paging":{"offset":0,"limit":100,"next":"/recordings?offset=100"}}`, 0, "/recordings?offset=100", ""},
		{"paging without next", `{"recordings":[` + one + `],"paging":{"offset":"0","limit":"100"}}`, 1, "", ""},
		{"paging null", `{"recordings":[` + one + `],"paging":null}`, 1, "", ""},
		{"recordings null", `{"statusCode":0,"recordings":null}`, 0, "", ""},
		{"no recordings key", `{"statusCode":0}`, 0, "", ""},
		{"unknown keys", `{"x":{"deep":[1,{"y":2}]},"recordings":[` + one + `],"z":"w"}`, 1, "", ""},
		{"string statusCode 0", `{"statusCode":"0","recordings":[]}`, 0, "", ""},
		{"bad recording kept", `{"recordings":[7,"s",null,{}]}`, 4, "", ""},
		{"statusCode", `{"statusCode":500,"statusMessage":"Internal error","recordings":[]}`, 0, "", "statusCode 500: Internal error"},
		{"statusCode then garbage", `{"statusCode":7,"statusMessage":"nope","recordings":[`, 0, "", "statusCode 7: nope"},
		{"not an object", `[1,2]`, 0, "", "want"},
		{"recordings not a list", `{"recordings":{}}`, 0, "", "recordings"},
		{"next not a string", `{"paging":{"next":5}}`, 0, "", "paging"},
		{"truncated", `{"statusCode":0,"recordings":[{"id":"A"`, 0, "", "unexpected EOF"},
		{"empty", ``, 0, "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodePage(strings.NewReader(tt.in), DefaultMaxPageBytes)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.recordings) != tt.wantRecs || p.next != tt.wantNext {
				t.Errorf("%d recordings, next %q; want %d, %q", len(p.recordings), p.next, tt.wantRecs, tt.wantNext)
			}
		})
	}
}

func TestDecodePageCap(t *testing.T) {
	body := `{"statusCode":0,"recordings":[{"id":"A","startTime":1}]}`
	n := int64(len(body))
	if _, err := decodePage(strings.NewReader(body), n); err != nil {
		t.Errorf("a body of exactly the cap: %v", err)
	}
	if _, err := decodePage(strings.NewReader(body), n-1); !errors.Is(err, errPageTooLarge) {
		t.Errorf("a body one byte over the cap: %v, want errPageTooLarge", err)
	}
	if _, err := decodePage(strings.NewReader(body+strings.Repeat(" ", 100)), n); err != nil {
		t.Errorf("the object ends within the cap, trailing bytes unread: %v", err)
	}
}

// hundredPage is a page of 100 vendor-shaped recordings.
func hundredPage() []byte {
	return []byte(`{"statusCode":0,"recordings":[` + joinRaw(makeRecs(100, t0, 1000)) +
		`],"paging":{"offset":0,"limit":100,"next":"/recordings?offset=100"}}`)
}

func FuzzDecodePage(f *testing.F) {
	f.Add(hundredPage())
	f.Add([]byte(`{"statusCode":0,"recordings":[` + vendorRecording + `]}`))
	f.Add([]byte(`{"statusCode":3,"statusMessage":"x"}`))
	f.Add([]byte(`{"recordings":[{"id":"..","startTime":"2015-09-10T16:58:22.000+0000","mediaFiles":[{"size":"-1"}]}]}`))
	f.Add([]byte(`{"recordings":[{"id":"A","startTime":1e400,"mediaFiles":[{"mediaDescriptor":{"storage":"awsS3","data":null}}]}]}`))
	f.Add([]byte(`{"paging":{"next":null},"recordings":[null,1,"x",[],{}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePage(bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		for _, r := range p.recordings {
			_ = r.Validate()
			for _, m := range r.MediaFiles {
				_ = m.InS3()
			}
		}
	})
}

func BenchmarkDecodePage(b *testing.B) {
	page := hundredPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := decodePage(bytes.NewReader(page), DefaultMaxPageBytes)
		if err != nil || len(p.recordings) != 100 {
			b.Fatalf("%v, %d recordings", err, len(p.recordings))
		}
	}
}
