// Command image assembles rcbs's container image without a Docker daemon:
// one layer holding the static rcbs binary at /rcbs, a CA bundle (rcbs
// speaks HTTPS to the recordings API and S3), an empty /tmp, and nothing
// else — no shell, no package manager. The config runs /rcbs as the
// non-root user 65532. It writes a docker-archive tarball tagged
// rcbs:VERSION and rcbs:latest, which `docker load -i`, `podman load -i`,
// `skopeo copy docker-archive:FILE …`, `crane push FILE REGISTRY/rcbs:VERSION`,
// `kind load image-archive` and `ctr -n k8s.io images import` all read.
// The Dockerfile at the repository root builds the same image with Docker.
//
//	go run ./internal/tools/image -bin dist/v1.0.0/rcbs-linux-amd64 -version v1.0.0 -o rcbs-image.tar
//
// It lives here, not in the rcbs binary: building images is the release's
// job, not the backup tool's.
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// What the image promises; the Dockerfile and deploy/kubernetes say the same.
const (
	Repository = "rcbs"
	BinaryPath = "rcbs" // in the layer: /rcbs
	User       = "65532:65532"
)

func main() {
	bin := flag.String("bin", "", "static linux rcbs binary to put at /rcbs (required)")
	version := flag.String("version", "", "image tag besides latest, e.g. v1.0.0 (required)")
	out := flag.String("o", "rcbs-image.tar", "docker-archive tarball to write")
	ca := flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to put at /etc/ssl/certs/ca-certificates.crt")
	flag.Parse()
	if *bin == "" || *version == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: image -bin rcbs-linux-amd64 -version v1.0.0 [-o rcbs-image.tar] [-ca bundle.crt]")
		os.Exit(2)
	}
	if err := build(*bin, *ca, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(binPath, caPath, version, out string) error {
	binary, arch, err := readStatic(binPath)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return fmt.Errorf("CA bundle: %w", err)
	}
	img, err := Image(binary, ca, arch, version)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, tag := range []string{version, "latest"} {
		ref, err := name.NewTag(Repository + ":" + tag)
		if err != nil {
			return fmt.Errorf("tag %q: %w", tag, err)
		}
		refs[ref] = img
	}
	tmp := out + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}

// readStatic reads a linux ELF binary and refuses one that needs a dynamic
// loader: a FROM-scratch image has none.
func readStatic(path string) ([]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("binary: %w", err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("%s: not a linux binary: %w", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, "", fmt.Errorf("%s: dynamically linked (build with CGO_ENABLED=0)", path)
		}
	}
	arch := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	if arch == "" {
		return nil, "", fmt.Errorf("%s: machine %v is not amd64 or arm64", path, f.Machine)
	}
	return b, arch, nil
}

// Image is the rcbs image: empty.Image plus one layer, with a config that
// runs /rcbs as User. Timestamps are fixed so that the same inputs give
// the same digest.
func Image(binary, ca []byte, arch, version string) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		b, err := layerTar(binary, ca)
		return io.NopCloser(bytes.NewReader(b)), err
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		CreatedBy: "rcbs internal/tools/image", Comment: "static rcbs binary, CA bundle, /tmp"}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Config.User = User
	cfg.Config.Entrypoint = []string{"/" + BinaryPath}
	cfg.Config.Cmd = nil
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "rcbs",
		"org.opencontainers.image.version": version,
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return mutate.CreatedAt(img, v1.Time{Time: time.Unix(0, 0).UTC()})
}

// layerTar is the single layer: /rcbs, /etc/ssl/certs/ca-certificates.crt
// and /tmp (1777, for anything that wants a temp dir; rcbs itself writes
// its temporary files beside their final names).
func layerTar(binary, ca []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "tmp/"}
	var errs []error
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		errs = append(errs, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: epoch}))
	}
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"etc/ssl/certs/ca-certificates.crt", 0o644, ca}, {BinaryPath, 0o755, binary}} {
		errs = append(errs, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}))
		_, err := tw.Write(f.data)
		errs = append(errs, err)
	}
	errs = append(errs, tw.Close())
	return buf.Bytes(), errors.Join(errs...)
}
