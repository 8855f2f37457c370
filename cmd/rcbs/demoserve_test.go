package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemoServe: "rcbs demo -serve" backs up the demo cloud, then serves
// it on the address it printed until interrupted: the printed token finds
// every recording, a media link plays, and the interrupt ends it cleanly.
func TestDemoServe(t *testing.T) {
	if c, err := net.DialTimeout("tcp", demoServeListen, 200*time.Millisecond); err == nil {
		c.Close()
		t.Fatalf("%s is already in use: the demo's fixed address cannot be tested here", demoServeListen)
	}
	const token = "demo-serve-test-token"
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string {
		if k == "RCBS_SERVE_TOKEN" {
			return token
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- runMain(ctx, e, []string{"demo", "-dir", t.TempDir(), "-recordings", "6", "-serve"}) }()

	base := "http://" + demoServeListen
	var answer struct {
		Results []struct {
			ID    string `json:"id"`
			Media []struct {
				URL string `json:"url"`
			} `json:"media"`
		} `json:"results"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequest("POST", base+"/search/", strings.NewReader(`{"limit":100}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			derr := json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || derr != nil {
				t.Fatalf("search: %d, %v", resp.StatusCode, derr)
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("demo -serve ended (exit %d) before it served", code)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing served at %s after 2 minutes: %v", base, err)
		}
	}
	if len(answer.Results) != 6 || len(answer.Results[0].Media) == 0 {
		t.Fatalf("search found %d recordings, want the demo's 6 with media", len(answer.Results))
	}
	resp, err := http.Get(answer.Results[0].Media[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "audio/") {
		t.Errorf("media link: %d, %d bytes, %s; want the decrypted audio", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK && code != exitInterrupted {
			t.Errorf("interrupted demo -serve exit %d\n%s\n%s", code, out.String(), errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo -serve did not stop within 30 s of the interrupt")
	}
}
