package davfs

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// twoArchives writes two instance folders whose day folder overlaps, with
// the bookkeeping every targetDir has.
func twoArchives(t *testing.T) (a, b string) {
	a, b = t.TempDir(), t.TempDir()
	put := func(root, name, data string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put(a, "2018/02/12/19/REC1/recording.json", `{"id":"REC1"}`)
	put(a, "2018/02/12/19/REC1/m1.mp3.bin", "media one")
	put(a, "2018/02/12/19/REC1/.rcbs-tmp-123", "half")
	put(a, "2018/02/12/19/REC1/.rcbs-hold", "")
	put(a, ".rcbs/index.db", "secret index")
	put(a, ".rcbs/audit.log", "who did what")
	put(a, ".rcbs.lock", "123")
	put(a, "last_recording_endtime.txt", "1518462067000\n")
	put(b, "2018/02/12/20/REC2/recording.json", `{"id":"REC2"}`)
	put(b, "2018/02/12/20/REC2/m2.mp3.bin", "media two")
	put(b, "2018/02/13/00/REC3/recording.json", `{"id":"REC3"}`)
	if err := os.Symlink("/etc", filepath.Join(b, "2018", "escape")); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func newServer(t *testing.T) (*httptest.Server, string, string) {
	a, b := twoArchives(t)
	fs, err := New([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	mux := http.NewServeMux()
	mux.Handle("/dav/", Handler("/dav", fs, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, a, b
}

func do(t *testing.T, method, url, depth string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if depth != "" {
		req.Header.Set("Depth", depth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadOnlyMethods(t *testing.T) {
	srv, a, _ := newServer(t)
	file := srv.URL + "/dav/2018/02/12/19/REC1/m1.mp3.bin"
	for _, m := range []string{"PUT", "DELETE", "MKCOL", "MOVE", "COPY", "PROPPATCH", "LOCK", "UNLOCK"} {
		for _, u := range []string{file, srv.URL + "/dav/2018/new", srv.URL + "/dav/"} {
			if code, _ := do(t, m, u, "", strings.NewReader("x")); code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", m, u, code)
			}
		}
	}
	if code, _ := do(t, "POST", file, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", code)
	}
	if b, err := os.ReadFile(filepath.Join(a, "2018/02/12/19/REC1/m1.mp3.bin")); err != nil || string(b) != "media one" {
		t.Errorf("the archive changed: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(a, "2018", "new")); !os.IsNotExist(err) {
		t.Error("MKCOL made a folder")
	}
}

func TestHiddenAndMerged(t *testing.T) {
	srv, _, _ := newServer(t)
	for _, p := range []string{"/.rcbs/", "/.rcbs/index.db", "/.rcbs/audit.log", "/.rcbs.lock", "/last_recording_endtime.txt",
		"/2018/02/12/19/REC1/.rcbs-tmp-123", "/2018/02/12/19/REC1/.rcbs-hold", "/x/../.rcbs/index.db", "/2018/escape/passwd"} {
		for _, depth := range []string{"", "0"} {
			method := "GET"
			if depth != "" {
				method = "PROPFIND"
			}
			if code, body := do(t, method, srv.URL+"/dav"+p, depth, nil); code != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404 (%.80s)", method, p, code, body)
			}
		}
	}
	code, body := do(t, "GET", srv.URL+"/dav/2018/02/12/20/REC2/m2.mp3.bin", "", nil)
	if code != 200 || body != "media two" {
		t.Errorf("GET from the second archive: %d %q", code, body)
	}
	code, body = do(t, "PROPFIND", srv.URL+"/dav/", "1", nil)
	if code != 207 || !strings.Contains(body, "/dav/2018/") || strings.Contains(body, ".rcbs") || strings.Contains(body, "last_recording") {
		t.Errorf("PROPFIND /: %d\n%s", code, body)
	}
	code, body = do(t, "PROPFIND", srv.URL+"/dav/2018/02/12/", "1", nil)
	if got := hrefs(body); code != 207 || !slices.Equal(got, []string{"/dav/2018/02/12/", "/dav/2018/02/12/19/", "/dav/2018/02/12/20/"}) {
		t.Errorf("PROPFIND a day of two archives: %d %v", code, got)
	}
	code, body = do(t, "PROPFIND", srv.URL+"/dav/2018/02/12/19/REC1/", "1", nil)
	if got := hrefs(body); !slices.Equal(got, []string{"/dav/2018/02/12/19/REC1/", "/dav/2018/02/12/19/REC1/m1.mp3.bin", "/dav/2018/02/12/19/REC1/recording.json"}) {
		t.Errorf("PROPFIND a recording: %d %v", code, got)
	}
	if code, _ := do(t, "PROPFIND", srv.URL+"/dav/", "infinity", nil); code != http.StatusForbidden {
		t.Errorf("PROPFIND Depth infinity: %d, want 403", code)
	}
}

var hrefRE = regexp.MustCompile(`<D:href>([^<]*)</D:href>`)

func hrefs(body string) []string {
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// curl, a client no one here wrote, lists a folder with PROPFIND.
func TestCurlPropfind(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is missing")
		}
		t.Skip("curl is missing")
	}
	srv, _, _ := newServer(t)
	out, err := exec.Command(curl, "-sS", "-f", "-X", "PROPFIND", "-H", "Depth: 1", srv.URL+"/dav/2018/02/12/19/REC1/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("m1.mp3.bin</D:href>")) || !bytes.Contains(out, []byte("<D:getcontentlength>9</D:getcontentlength>")) {
		t.Errorf("curl PROPFIND:\n%s", out)
	}
	out, err = exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", srv.URL+"/dav/2018/").CombinedOutput()
	if err != nil || string(out) != "403" {
		t.Errorf("curl DELETE: %s %v", out, err)
	}
}
