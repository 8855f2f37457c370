package deploy

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"debug/pe"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRelease runs scripts/release as a maintainer does, with VCS stamping
// switched off (-buildvcs=false, as in a tarball or container build), and
// checks what it promises: three static binaries, their SHA256SUMS, and a
// version line naming the version and the commit.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	out := t.TempDir()
	cmd := exec.Command("../scripts/release", "-o", out, "v9.8.7")
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, b)
	}
	sums := readSums(t, filepath.Join(out, "SHA256SUMS"))
	for name, machine := range map[string]elf.Machine{"rcbs-linux-amd64": elf.EM_X86_64, "rcbs-linux-arm64": elf.EM_AARCH64} {
		checkStaticELF(t, filepath.Join(out, name), machine)
	}
	f, err := pe.Open(filepath.Join(out, "rcbs-windows-amd64.exe"))
	if err != nil {
		t.Fatalf("windows binary: %v", err)
	}
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("windows binary: machine %#x, want amd64", f.Machine)
	}
	f.Close()
	for _, name := range []string{"rcbs-linux-amd64", "rcbs-linux-arm64", "rcbs-windows-amd64.exe"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); sums[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256SUMS says %s for %s, the file hashes to %x", sums[name], name, sum)
		}
	}
	if len(sums) != 3 {
		t.Errorf("SHA256SUMS lists %d files, want 3: %v", len(sums), sums)
	}

	head, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("cannot run the linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	got, err := exec.Command(filepath.Join(out, "rcbs-linux-amd64"), "version").Output()
	if err != nil {
		t.Fatalf("rcbs version: %v", err)
	}
	want := "rcbs v9.8.7, commit " + strings.TrimSpace(string(head))
	if !strings.HasPrefix(string(got), want) || strings.Contains(string(got), "unknown") {
		t.Errorf("rcbs version = %q, want it to start with %q", got, want)
	}
}

// checkStaticELF fails unless path is an executable for machine that needs
// no dynamic loader: no PT_INTERP, no dynamic section, no needed library.
func checkStaticELF(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s: machine %v, want %v", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header: not static", path, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s: needs %v: not static", path, libs)
	}
}

// readSums reads a sha256sum file into name → hex digest.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("%s: line %q is not `<sha256>  <name>`", path, sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

// TestBuildsAreStatic: every place that builds rcbs for people to run (the
// README, the scripts, the Dockerfile, the e2e suite's binary) builds it
// with CGO_ENABLED=0, so what is tested and benchmarked is what ships.
func TestBuildsAreStatic(t *testing.T) {
	files := []string{"../README.md", "../Dockerfile", "../e2e/helpers_test.go"}
	scripts, err := filepath.Glob("../scripts/*")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, scripts...)
	builds := 0
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			isBuild := strings.Contains(line, "go build") || strings.Contains(line, `"go", "build"`)
			if !isBuild || !strings.Contains(line, "cmd/rcbs") {
				continue
			}
			builds++
			context := strings.Join(lines[max(0, i-3):min(len(lines), i+3)], "\n")
			if !strings.Contains(context, "CGO_ENABLED=0") {
				t.Errorf("%s:%d builds rcbs without CGO_ENABLED=0: %s", name, i+1, strings.TrimSpace(line))
			}
		}
	}
	if builds < 4 {
		t.Fatalf("found %d builds of cmd/rcbs: the check looks at nothing", builds)
	}
}
