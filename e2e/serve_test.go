//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

const serveToken = "e2e-serve-token-NEVER-SHOWN"

// served is a running rcbs serve and where it listens.
type served struct {
	p    *proc
	base string
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startServe starts rcbs serve -config cfg and waits for its address.
func (w *world) startServe(t *testing.T, cfg string) served {
	t.Helper()
	p := start(t, append(slices.Clone(w.env), "RCBS_SERVE_TOKEN="+serveToken), "serve", "-config", cfg)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(p.stdout.String()); m != nil {
			return served{p: p, base: m[1]}
		}
		select {
		case <-p.done:
			t.Fatalf("rcbs serve exited: %s", p.wait(t))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("rcbs serve did not say where it listens:\n%s\n%s", p.stdout, p.stderr)
	return served{}
}

// stop ends rcbs serve with SIGTERM; it must exit 0.
func (s served) stop(t *testing.T) result {
	t.Helper()
	s.p.cmd.Process.Signal(syscall.SIGTERM)
	r := s.p.wait(t)
	if r.code != 0 {
		t.Errorf("rcbs serve after SIGTERM: %s", r)
	}
	return r
}

type e2eAnswer struct {
	Results []struct {
		ID        string   `json:"id"`
		StartTime string   `json:"startTime"`
		Agents    []string `json:"agents"`
		Media     []struct {
			MediaID string `json:"mediaId"`
			Type    string `json:"type"`
			Size    int64  `json:"size"`
			URL     string `json:"url"`
		} `json:"media"`
		Metadata string `json:"metadata"`
	} `json:"results"`
	Next string `json:"next"`
}

func (s served) search(t *testing.T, body string) (e2eAnswer, int) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+"/search/", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+serveToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a e2eAnswer
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
	}
	return a, resp.StatusCode
}

func get(t *testing.T, url string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestJourneyServe backs up the simulated cloud, serves it, searches it
// with net/http and curl, and fetches every media through its signed link:
// the bytes are openssl cms -decrypt's, whole and in ranges.
func TestJourneyServe(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 12, Seed: 14, Start: t0().Add(-2 * day), End: t0()})
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")
	w.run(t, w.writeConfig(t, target, relative(2)...), t0())
	keyPath, _, err := w.cloud.WriteKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.writeConfig(t, target, relative(2, "serveListen", "127.0.0.1:0", "serveDecryptionKey", keyPath)...)
	// The backup run indexed every recording: serve finds them before any rcbs index.
	s := w.startServe(t, cfg)
	var ids []string
	var answers []e2eAnswer
	for cursor := ""; ; {
		a, code := s.search(t, fmt.Sprintf(`{"limit":5,"cursor":%q}`, cursor))
		if code != 200 {
			t.Fatalf("search: %d", code)
		}
		answers = append(answers, a)
		for _, r := range a.Results {
			ids = append(ids, r.ID)
		}
		if cursor = a.Next; cursor == "" {
			break
		}
	}
	slices.SortFunc(all, func(a, b cloudsim.Recording) int { return b.StartTime.Compare(a.StartTime) })
	var want []string
	for _, r := range all {
		want = append(want, r.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("paged search = %v\nwant newest first %v", ids, want)
	}
	var firstLink string
	fetched := 0
	for _, a := range answers {
		for _, r := range a.Results {
			for _, m := range r.Media {
				bin := filepath.Join(target, r.StartTime[:4], r.StartTime[5:7], r.StartTime[8:10], r.StartTime[11:13], r.ID, m.MediaID+".bin")
				plain := opensslPlain(t, bin, keyPath)
				checkServedMedia(t, m.URL, m.Type, plain)
				fetched++
				if firstLink == "" {
					firstLink = m.URL
				}
			}
			code, body, _ := get(t, r.Metadata)
			stored, _ := os.ReadFile(filepath.Join(target, r.StartTime[:4], r.StartTime[5:7], r.StartTime[8:10], r.StartTime[11:13], r.ID, "recording.json"))
			if code != 200 || !bytes.Equal(body, stored) {
				t.Errorf("%s: metadata link: %d, %d bytes (want the stored recording.json)", r.ID, code, len(body))
			}
		}
	}
	if fetched == 0 {
		t.Fatal("no media fetched: the premise failed")
	}
	checkRefusals(t, s, firstLink)
	checkCurl(t, s, firstLink)
	r := s.stop(t)
	w.checkNoSecrets(t, r)
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, serveToken) || strings.Contains(out, target) {
			t.Errorf("serve's output shows the token or the archive's path:\n%s", out)
		}
	}
	// rcbs index rebuilds; a restarted serve refuses the old links.
	ri := w.rcbs(t, "index", "-config", cfg)
	if ri.code != 0 || !strings.Contains(ri.stdout, fmt.Sprintf("indexed %d recordings", len(all))) {
		t.Errorf("rcbs index: %s", ri)
	}
	s2 := w.startServe(t, cfg)
	if code, _, _ := get(t, strings.Replace(firstLink, s.base, s2.base, 1)); code != http.StatusForbidden {
		t.Errorf("a link of the previous process: %d, want 403", code)
	}
	s2.stop(t)
	checkAudit(t, target)
}

func opensslPlain(t *testing.T, bin, keyPath string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plain")
	cmd := exec.Command("openssl", "cms", "-decrypt", "-inform", "DER", "-binary", "-inkey", keyPath, "-in", bin, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		// Media the cloud stored in plain text are served as stored.
		if stored, rerr := os.ReadFile(bin); rerr == nil && !bytes.HasPrefix(stored, []byte{0x30}) {
			return stored
		}
		t.Fatalf("openssl cms -decrypt %s: %v\n%s", filepath.Base(bin), err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkServedMedia fetches a media whole and in ranges.
func checkServedMedia(t *testing.T, url, typ string, plain []byte) {
	t.Helper()
	code, body, hdr := get(t, url)
	if code != 200 || !bytes.Equal(body, plain) || hdr.Get("Content-Type") != typ {
		t.Errorf("%s: %d, %d bytes, %s; want 200, openssl's %d bytes, %s", url, code, len(body), hdr.Get("Content-Type"), len(plain), typ)
		return
	}
	n := len(plain)
	for _, rg := range []struct {
		spec     string
		from, to int
	}{
		{"bytes=0-99", 0, 100}, {"bytes=16-31", 16, 32}, {fmt.Sprintf("bytes=%d-%d", n/3, n/2), n / 3, n/2 + 1},
		{fmt.Sprintf("bytes=%d-", n-1000), n - 1000, n}, {"bytes=-333", n - 333, n},
	} {
		code, body, hdr := get(t, url, "Range", rg.spec)
		if code != http.StatusPartialContent || !bytes.Equal(body, plain[rg.from:rg.to]) ||
			hdr.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", rg.from, rg.to-1, n) {
			t.Errorf("%s Range %s: %d, %d bytes, %q", url, rg.spec, code, len(body), hdr.Get("Content-Range"))
		}
	}
}

func checkRefusals(t *testing.T, s served, link string) {
	t.Helper()
	if _, code := s.search(t, `{"token":"wrong","limit":"x"}`); code != http.StatusBadRequest {
		t.Errorf("bad search body: %d, want 400", code)
	}
	req, _ := http.NewRequest("POST", s.base+"/search/", strings.NewReader(`{"token":"wrong"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	for name, l := range map[string]string{
		"sig": strings.Replace(link, "sig=", "sig=A", 1),
		"exp": regexp.MustCompile(`exp=\d+`).ReplaceAllString(link, "exp=9999999999"),
		"u":   strings.Replace(link, "u=token", "u=alice", 1),
	} {
		if code, _, _ := get(t, l); code != http.StatusForbidden {
			t.Errorf("link with a changed %s: %d, want 403", name, code)
		}
	}
}

// checkCurl searches and seeks with curl, as a user would.
func checkCurl(t *testing.T, s served, link string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl not found (scripts/test installs it)")
		}
		t.Log("curl not installed: skipping the curl checks")
		return
	}
	out, err := exec.Command("curl", "-sS", "-H", "Authorization: Bearer "+serveToken, "-d", `{"limit":1}`, s.base+"/search/").Output()
	if err != nil || !bytes.Contains(out, []byte(`"results":[{"id":`)) {
		t.Errorf("curl search: %v %s", err, out)
	}
	_, whole, _ := get(t, link)
	part, err := exec.Command("curl", "-sS", "-r", "100-199", link).Output()
	if err != nil || !bytes.Equal(part, whole[100:200]) {
		t.Errorf("curl -r 100-199: %v, %d bytes", err, len(part))
	}
}

func checkAudit(t *testing.T, target string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(target, ".rcbs", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{`"action":"search"`, `"action":"play"`, `"action":"refused"`, `"status":206`, `"status":401`} {
		if !bytes.Contains(b, []byte(action)) {
			t.Errorf("audit log has no %s line", action)
		}
	}
	if bytes.Contains(b, []byte(serveToken)) || bytes.Contains(b, []byte(target)) {
		t.Error("the audit log shows the token or the archive's path")
	}
	if fi, _ := os.Stat(filepath.Join(target, ".rcbs", "audit.log")); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v", fi.Mode().Perm())
	}
}

// TestJourneyServeUsers: an admin hashes a password, writes a users file
// with an access list, and that user searches (HTTP Basic) and plays only
// the recordings of the list.
func TestJourneyServeUsers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 10, Seed: 15, Start: t0().Add(-2 * day), End: t0()})
	target := filepath.Join(t.TempDir(), "target")
	w.run(t, w.writeConfig(t, target, relative(2)...), t0())

	help := w.rcbs(t, "serve", "-h")
	if help.code != 0 || !strings.Contains(help.stdout, "Example") || !strings.Contains(help.stdout, "-hash-password") {
		t.Errorf("rcbs serve -h: %s", help)
	}
	const password = "sup-password-NEVER-SHOWN"
	cmd := exec.Command(rcbsBin, "serve", "-hash-password")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	hash := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(hash, "$2") || strings.Contains(hash, password) {
		t.Fatalf("rcbs serve -hash-password: %v %q", err, out)
	}
	// The supervisor's scope: the agent of the newest recording.
	cfg := w.writeConfig(t, target, relative(2, "serveListen", "127.0.0.1:0")...)
	s := w.startServe(t, cfg)
	a, _ := s.search(t, `{"limit":1}`)
	if len(a.Results) != 1 || len(a.Results[0].Agents) == 0 {
		t.Fatalf("no recording with an agent to scope by: %+v", a)
	}
	agent := a.Results[0].Agents[0]
	all, _ := s.search(t, `{}`)
	s.stop(t)

	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("# name:hash:scope\nsup:"+hash+":agent="+agent+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = w.writeConfig(t, target, relative(2, "serveListen", "127.0.0.1:0", "serveUsers", users)...)
	s = w.startServe(t, cfg)
	req, _ := http.NewRequest("POST", s.base+"/search/", strings.NewReader(`{}`))
	req.SetBasicAuth("sup", password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var mine e2eAnswer
	json.NewDecoder(resp.Body).Decode(&mine)
	resp.Body.Close()
	want := 0
	for _, r := range all.Results {
		if slices.Contains(r.Agents, agent) {
			want++
		}
	}
	if resp.StatusCode != 200 || len(mine.Results) != want || want == 0 || want == len(all.Results) {
		t.Fatalf("sup's search: %d, %d results; want %d of %d (premise: some but not all)", resp.StatusCode, len(mine.Results), want, len(all.Results))
	}
	for _, r := range mine.Results {
		if !slices.Contains(r.Agents, agent) {
			t.Errorf("sup sees %s (agents %v), outside agent=%s", r.ID, r.Agents, agent)
		}
		if code, _, _ := get(t, r.Media[0].URL); code != 200 {
			t.Errorf("sup's own link: %d", code)
		}
	}
	rs := s.stop(t)
	if strings.Contains(rs.stdout+rs.stderr, password) || strings.Contains(rs.stdout+rs.stderr, hash) {
		t.Error("serve's output shows the password or its hash")
	}
}
