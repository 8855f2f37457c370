package cloudsim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		api, s3 Faults
		bad     bool
	}{
		{spec: ""},
		{spec: "api=0.1,s3=0.25", api: Faults{Rate: 0.1}, s3: Faults{Rate: 0.25}},
		{
			spec: "api=0.1, s3=0.1 ,kinds=500+503+reset,latency=20ms,never=KEY1+KEY2,retry-after=0.5s",
			api:  Faults{Rate: 0.1, Kinds: []string{"500", "503", "reset"}, Latency: 20 * time.Millisecond, Never: []string{"KEY1", "KEY2"}, RetryAfter: 500 * time.Millisecond},
			s3:   Faults{Rate: 0.1, Kinds: []string{"500", "503", "reset"}, Latency: 20 * time.Millisecond, Never: []string{"KEY1", "KEY2"}, RetryAfter: 500 * time.Millisecond},
		},
		{spec: "api=1.5", bad: true},
		{spec: "s3=-0.1", bad: true},
		{spec: "kinds=500+404", bad: true},
		{spec: "latency=fast", bad: true},
		{spec: "bogus=1", bad: true},
		{spec: "api", bad: true},
	} {
		api, s3, err := ParseFaults(tc.spec)
		if (err != nil) != tc.bad {
			t.Errorf("ParseFaults(%q): err %v, want error %v", tc.spec, err, tc.bad)
			continue
		}
		if !tc.bad && (!reflect.DeepEqual(api, tc.api) || !reflect.DeepEqual(s3, tc.s3)) {
			t.Errorf("ParseFaults(%q) = %+v, %+v; want %+v, %+v", tc.spec, api, s3, tc.api, tc.s3)
		}
	}
}

// noReuse does not retry a request on a fresh connection after a cut one,
// as a keep-alive transport may: every fault must reach the caller. It signs
// every request with the simulator's S3 keys (the API ignores the headers).
func noReuse() *http.Client {
	return &http.Client{Transport: signing{&http.Transport{DisableKeepAlives: true}}}
}

// signing signs each request with SigV4 (UNSIGNED-PAYLOAD) unless it is
// presigned already.
type signing struct{ next http.RoundTripper }

func (s signing) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("X-Amz-Signature") == "" {
		r = r.Clone(r.Context())
		if err := signV4(r, time.Now()); err != nil {
			return nil, err
		}
	}
	return s.next.RoundTrip(r)
}

// outcome fetches url and classifies the answer: "ok", an HTTP status, or
// the transport error class.
func outcome(t testing.TB, method, url string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := noReuse().Do(req)
	if err != nil {
		return "request error"
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "body error"
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprint(resp.StatusCode)
	}
	return "ok"
}

func s3URLs(c *Cloud) []string {
	var out []string
	for _, r := range c.Recordings() {
		for _, m := range r.Media {
			if m.Key != "" {
				out = append(out, c.S3URL()+"/"+m.Bucket+"/"+m.Key)
			}
		}
	}
	return out
}

func TestFaultRates(t *testing.T) {
	const n, rate = 2000, 0.2
	for _, server := range []string{"api", "s3"} {
		t.Run(server, func(t *testing.T) {
			f := Faults{Rate: rate, RetryAfter: time.Millisecond}
			o := plain(Options{Recordings: 10, Seed: 8})
			if server == "api" {
				o.APIFaults = f
			} else {
				o.S3Faults = f
			}
			c := startCloud(t, o)
			urls := s3URLs(c)
			if server == "api" {
				urls = []string{c.APIURL() + "/me/settings/rcbs", c.APIURL() + "/recordings?startTime=0&endTime=1"}
			}
			failed := 0
			for i := range n {
				if outcome(t, http.MethodGet, urls[i%len(urls)]) != "ok" {
					failed++
				}
			}
			if share := float64(failed) / n; share < rate-0.035 || share > rate+0.035 {
				t.Errorf("%d of %d requests failed (%.3f), want %.2f ± 0.035", failed, n, share, rate)
			}
			injected := c.Stats().S3Faults
			if server == "api" {
				injected = c.Stats().APIFaults
			}
			var sum int64
			for _, kind := range allFaults {
				if injected[kind] == 0 {
					t.Errorf("kind %s never injected: %v", kind, injected)
				}
				sum += injected[kind]
			}
			if sum != int64(failed) {
				t.Errorf("Stats counts %d faults, the client saw %d", sum, failed)
			}
		})
	}
}

func TestFaultsRepeatable(t *testing.T) {
	run := func() []string {
		c := startCloud(t, plain(Options{Recordings: 5, Seed: 3, S3Faults: Faults{Rate: 0.5, Kinds: []string{"500", "503"}}}))
		var out []string
		for _, u := range s3URLs(c) {
			for range 4 {
				out = append(out, outcome(t, http.MethodGet, u))
			}
		}
		return out
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if !strings.Contains(strings.Join(a, " "), "ok") || !strings.Contains(strings.Join(a, " "), "50") {
		t.Fatalf("want both successes and failures at rate 0.5: %v", a)
	}
}

func TestFaultKinds(t *testing.T) {
	for _, tc := range []struct {
		kind, want, body string
	}{
		{Fault500, "500", "<Code>InternalError</Code>"},
		{Fault503, "503", "<Code>SlowDown</Code>"},
		{Fault429, "429", "<Code>TooManyRequests</Code>"},
		{FaultReset, "", ""},
		{FaultTruncate, "", ""},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			f := Faults{Rate: 1, Kinds: []string{tc.kind}, RetryAfter: 250 * time.Millisecond}
			c := startCloud(t, plain(Options{Recordings: 1, Seed: 1, S3Faults: f, APIFaults: f}))
			for _, url := range []string{s3URLs(c)[0], c.APIURL() + "/me/settings/rcbs"} {
				resp, body, err := fetch(url)
				switch tc.kind {
				case FaultReset:
					if err == nil {
						t.Fatalf("%s: reset: no error, %d bytes", url, len(body))
					}
					t.Logf("reset: %v", err)
				case FaultTruncate:
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("%s: truncate: err %v, want unexpected EOF", url, err)
					}
				default:
					if err != nil || fmt.Sprint(resp.StatusCode) != tc.want {
						t.Fatalf("%s: %v %v, want %s", url, resp, err, tc.want)
					}
					if strings.HasPrefix(url, c.S3URL()) && !strings.Contains(string(body), tc.body) {
						t.Fatalf("%s: body %s, want %s", url, body, tc.body)
					}
					if strings.HasPrefix(url, c.APIURL()) && !strings.Contains(string(body), `"statusCode":4`) {
						t.Fatalf("%s: body %s, want a statusCode envelope", url, body)
					}
					if ra := resp.Header.Get("Retry-After"); (tc.kind == Fault429) != (ra == "0.25") {
						t.Fatalf("%s: Retry-After %q", url, ra)
					}
				}
			}
			if tc.kind == FaultReset || tc.kind == FaultTruncate {
				if got := outcome(t, http.MethodHead, s3URLs(c)[0]); got != "request error" {
					t.Fatalf("HEAD under %s: %s, want no answer", tc.kind, got)
				}
			}
		})
	}
}

func fetch(url string) (*http.Response, []byte, error) {
	resp, err := noReuse().Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestNeverKeys(t *testing.T) {
	c0 := newCloud(t, plain(Options{Recordings: 4, Seed: 6, APIMediaShare: 0.5}))
	var s3Key, apiID string
	for _, r := range c0.Recordings() {
		for _, m := range r.Media {
			if m.Key != "" && s3Key == "" {
				s3Key = m.Key
			}
			if m.Key == "" && apiID == "" {
				apiID = r.ID
			}
		}
	}
	if s3Key == "" || apiID == "" {
		t.Fatal("seed 6 gives no mix of S3 and API media; pick another")
	}
	never := Faults{Never: []string{s3Key, apiID}, Kinds: []string{"503"}}
	c := startCloud(t, plain(Options{Recordings: 4, Seed: 6, APIMediaShare: 0.5, S3Faults: never, APIFaults: never}))
	for _, r := range c.Recordings() {
		for _, m := range r.Media {
			url := c.S3URL() + "/" + m.Bucket + "/" + m.Key
			if m.Key == "" {
				url = c.APIURL() + mediaRoute(r.ID, m.MediaID)
			}
			// S3 faults look at keys, the API media route at recording IDs.
			bad := (m.Key != "" && m.Key == s3Key) || (m.Key == "" && r.ID == apiID)
			for range 10 {
				if got := outcome(t, http.MethodGet, url); (got != "ok") != bad {
					t.Fatalf("%s: %s (Never: %v)", url, got, bad)
				}
			}
		}
	}
}

// TestLatency checks only a lower bound: a slow machine can add time, never take it away.
func TestLatency(t *testing.T) {
	f := Faults{Latency: 40 * time.Millisecond}
	c := startCloud(t, plain(Options{Recordings: 1, APIFaults: f, S3Faults: f}))
	for _, url := range []string{c.APIURL() + "/me/settings/rcbs", s3URLs(c)[0]} {
		t0 := time.Now()
		if got := outcome(t, http.MethodGet, url); got != "ok" {
			t.Fatalf("%s: %s", url, got)
		}
		if d := time.Since(t0); d < f.Latency {
			t.Errorf("%s answered in %v, before the %v latency", url, d, f.Latency)
		}
	}
}
