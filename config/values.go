package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// maxPEMSize bounds how much of encryptionCertificate is read.
const maxPEMSize = 1 << 20

// parseURL checks an http(s) URL with a host and returns it without a
// trailing slash. Credentials in a URL are refused: they come from the
// environment only, and the value is echoed in errors (redacted there). A
// query is refused too: every URL here gets a path appended (/recordings,
// S3 keys, pingUrl's /start and /fail).
func parseURL(v string) (string, error) {
	if hasControl(v) || strings.ContainsAny(v, " \t") {
		return "", errors.New("must be a URL without spaces or control characters")
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return "", errors.New("must be an http:// or https:// URL")
	}
	switch {
	case u.Hostname() == "":
		return "", errors.New("must name a host, e.g. https://example.com/api/v2")
	case u.User != nil:
		return "", errors.New("must not contain a user name or password (credentials come from the environment)")
	case u.Fragment != "" || u.RawQuery != "" || strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#"):
		return "", errors.New("must not contain a query or fragment")
	}
	if err := checkPort(u.Port()); err != nil {
		return "", err
	}
	return strings.TrimRight(v, "/"), nil
}

func checkPort(p string) error {
	if p == "" {
		return nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return errors.New("has a port outside 1-65535")
	}
	return nil
}

// parsePath checks a file or folder path written with "/" separators. A
// backslash is refused: the manual requires "/" on every OS, and in a
// .properties file C:\target has already lost its backslash (\t is a tab).
func parsePath(v string) (string, error) {
	switch {
	case hasControl(v):
		return "", errors.New(`contains a control character (a backslash in .properties starts an escape such as \t: write / instead)`)
	case strings.Contains(v, `\`):
		return "", errors.New(`must use / as the folder separator, not \`)
	}
	return v, nil
}

// parseHost accepts a host name or an IP address (IPv6 with or without
// brackets), nothing more: no scheme, port or path.
func parseHost(v string) (string, error) {
	if strings.Contains(v, "://") {
		return "", errors.New("must be a host name or IP address only, without http:// (that form is for gwsProxyHost)")
	}
	h := strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	if net.ParseIP(h) != nil {
		return h, nil
	}
	if strings.Contains(v, ":") {
		return "", errors.New("must not include a port (set awsProxyPort)")
	}
	if !isHostname(v) {
		return "", errors.New("must be a host name or IP address")
	}
	return v, nil
}

// isHostname checks DNS syntax: dot-separated labels of letters, digits
// and inner hyphens (underscores tolerated, as some internal names use
// them), each 1-63 bytes, 253 in all.
func isHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(isLetter(c) || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// setGWSProxyHost takes http://host (the manual's form). A port written in
// the URL is accepted too; check reconciles it with gwsProxyPort.
func setGWSProxyHost(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || hasControl(v) || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return errors.New("must be http://host (the proxy's scheme and host name or IP)")
	}
	switch {
	case u.User != nil:
		return errors.New("must not contain a user name or password")
	case u.Hostname() == "" || (!isHostname(u.Hostname()) && net.ParseIP(u.Hostname()) == nil):
		return errors.New("must be http://host with a host name or IP address")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return errors.New("must be http://host without a path or query")
	}
	if err := checkPort(u.Port()); err != nil {
		return err
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	c.GWSProxyHost = u.Scheme + "://" + host
	c.gwsURLPort, _ = strconv.Atoi(u.Port()) // 0 when none
	return nil
}

// parseURIPath checks a path under gwsUriPrefix: it must start with "/" and
// carry no query, since rcbs appends its own.
func parseURIPath(v string) (string, error) {
	switch {
	case !strings.HasPrefix(v, "/"):
		return "", errors.New("must be a path starting with /")
	case hasControl(v) || strings.ContainsAny(v, " ?#\\"):
		return "", errors.New("must be a path without spaces, query (?) or fragment (#)")
	}
	return v, nil
}

// setCertificate reads encryptionCertificate now, so that a wrong path or
// file stops the run before anything is downloaded. Relative paths are from
// the working directory, like targetDir.
func setCertificate(c *Config, v string) error {
	if _, err := parsePath(v); err != nil {
		return err
	}
	b, err := readSmall(filepath.FromSlash(v), maxPEMSize)
	if err != nil {
		return err
	}
	var block *pem.Block
	for rest := b; ; {
		if block, rest = pem.Decode(rest); block == nil || block.Type == "CERTIFICATE" {
			break
		}
	}
	if block == nil {
		return errors.New("is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return errors.New("is not a valid X.509 certificate")
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return fmt.Errorf("holds a %s key: only RSA certificates can be encrypted to", cert.PublicKeyAlgorithm)
	}
	c.EncryptionCertificate, c.EncryptionCert = v, cert
	return nil
}

// setMetricsFile checks that the metrics file can be created where asked:
// its folder exists and it is not itself a folder, so a typo shows now and
// not after a long run.
func setMetricsFile(c *Config, v string) error {
	if _, err := parsePath(v); err != nil {
		return err
	}
	p := filepath.FromSlash(v)
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		return errors.New("is in a folder that does not exist")
	}
	c.MetricsFile = v
	return nil
}

// readError is a failed read described without the path (the caller names
// the file or key), keeping the os error for errors.Is.
type readError struct {
	problem string
	cause   error
}

func (e *readError) Error() string { return e.problem }
func (e *readError) Unwrap() error { return e.cause }

// readSmall reads a regular file of at most limit bytes, with a short
// problem for each way it can fail.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &readError{openProblem(err), err}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, &readError{"is a directory, not a file", nil}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &readError{"cannot be read: " + causeText(err), err}
	}
	if int64(len(b)) > limit {
		return nil, &readError{fmt.Sprintf("is larger than %d KiB", limit>>10), nil}
	}
	return b, nil
}

// openProblem describes a failed open without repeating the path.
func openProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read: permission denied"
	}
	return "cannot be opened: " + causeText(err)
}

// causeText is err without the "open /path:" prefix of a *fs.PathError.
func causeText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
