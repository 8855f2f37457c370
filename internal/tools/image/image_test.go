package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage builds the image from a CGO_ENABLED=0 build of cmd/rcbs, reads
// the tarball back as a registry client would, and checks what the
// Kubernetes manifests rely on: non-root user, /rcbs as entrypoint, a
// static binary that runs, and no shell anywhere in the image.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rcbs")
	gobuild := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/rcbs/rcbs/cmd/rcbs")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rcbs-image.tar")
	if err := build(bin, ca, "v9.8.7", out); err != nil {
		t.Fatalf("build: %v", err)
	}
	for _, tag := range []string{"rcbs:v9.8.7", "rcbs:latest", manifestImage(t)} {
		ref, _ := name.NewTag(tag)
		img, err := tarball.ImageFromPath(out, &ref)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Config
		if uid, _, _ := strings.Cut(c.User, ":"); uid == "" || uid == "0" || uid == "root" {
			t.Errorf("%s: runs as user %q, want non-root", tag, c.User)
		}
		if !slices.Equal(c.Entrypoint, []string{"/rcbs"}) || len(c.Cmd) != 0 || cfg.OS != "linux" {
			t.Errorf("%s: entrypoint %q cmd %q os %s, want [/rcbs], none, linux", tag, c.Entrypoint, c.Cmd, cfg.OS)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers (%v), want 1", tag, len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		files := readLayer(t, rc)
		rc.Close()
		for path := range files {
			if base := filepath.Base(path); strings.HasPrefix(path, "bin/") || slices.Contains([]string{"sh", "bash", "ash", "dash", "busybox"}, base) {
				t.Errorf("%s: the image holds %s: it must have no shell", tag, path)
			}
		}
		binary, ok := files["rcbs"]
		if !ok {
			t.Fatalf("%s: no /rcbs in the layer: %v", tag, slices.Collect(maps.Keys(files)))
		}
		checkRuns(t, dir, binary)
	}
}

// manifestImage is the image deploy/kubernetes/cronjob.yaml runs: the
// tarball must answer to that name.
func manifestImage(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../deploy/kubernetes/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+image:\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("deploy/kubernetes/cronjob.yaml names no image")
	}
	return string(m[1])
}

// checkRuns writes the image's /rcbs out, checks that it is static and
// that it answers `version`.
func checkRuns(t *testing.T, dir string, binary []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("/rcbs: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("/rcbs needs a dynamic loader, which the image does not have")
		}
	}
	path := filepath.Join(dir, "from-image")
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path, "version").Output(); err != nil || !strings.HasPrefix(string(out), "rcbs ") {
		t.Fatalf("/rcbs version: %q, %v", out, err)
	}
}

func readLayer(t *testing.T, r io.Reader) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "rcbs" && h.Mode&0o111 == 0 {
			t.Errorf("/rcbs mode %o: not executable", h.Mode)
		}
		files[strings.TrimPrefix(h.Name, "/")] = b
	}
}

// TestRefusesDynamicBinary: a cgo build needs a loader the image lacks.
func TestRefusesDynamicBinary(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no sh to use as a dynamic binary")
		}
		t.Skip("no sh to use as a dynamic binary")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	if _, _, err := readStatic(sh); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("readStatic(%s) = %v, want a refusal naming CGO_ENABLED=0", sh, err)
	}
}

// TestDockerfileAgrees: the Dockerfile builds the same image with Docker:
// a CGO_ENABLED=0 build, a final stage FROM scratch (no shell), the same
// user and entrypoint as Image.
func TestDockerfileAgrees(t *testing.T) {
	b, err := os.ReadFile("../../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	stages := regexp.MustCompile(`(?m)^FROM\s+`).Split(df, -1)
	final := stages[len(stages)-1]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^scratch\b`),
		regexp.MustCompile(`(?m)^USER\s+` + regexp.QuoteMeta(User) + `\s*$`),
		regexp.MustCompile(`(?m)^ENTRYPOINT\s+\["/` + BinaryPath + `"\]\s*$`),
		regexp.MustCompile(`(?m)^COPY\s+--from=\S+\s+\S+\s+/` + BinaryPath + `\s*$`),
	} {
		if !want.MatchString(final) {
			t.Errorf("the Dockerfile's final stage does not match %s:\n%s", want, final)
		}
	}
	if !strings.Contains(df, "CGO_ENABLED=0") {
		t.Error("the Dockerfile does not build with CGO_ENABLED=0")
	}
	if regexp.MustCompile(`(?m)^RUN\b`).MatchString(final) {
		t.Error("the final stage RUNs a command: it has no shell to run it")
	}
}
