package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/serve"
)

const serveUsage = `Usage: rcbs serve -config FILE
       rcbs serve -hash-password < password.txt

Serves the archive (targetDir and serveArchives) as a search-and-listen
service (spec §12): POST /search/ with the token (RCBS_SERVE_TOKEN) or a
user of serveUsers, signed expiring links to each media (/m/…), its
recording.json (/r/…) and zip (/x/…), media streamed with HTTP Range and,
with serveDecryptionKey, decrypted on the fly; /health and /metrics. Every
search, playback, download and refused request is a line of the audit log.
Links are signed with a secret drawn at start: a restart ends them, unless
RCBS_SERVE_LINK_SECRET (base64 of ≥ 32 random bytes) is shared.

Environment: RCBS_SERVE_TOKEN, RCBS_KEY_PASSPHRASE (an encrypted
serveDecryptionKey), RCBS_SERVE_LINK_SECRET.

Examples:
  RCBS_SERVE_TOKEN=$(openssl rand -hex 32) rcbs serve -config /etc/rcbs/config.properties
  curl -s -H "Authorization: Bearer $RCBS_SERVE_TOKEN" -d '{"ani":"+33","limit":10}' \
      http://127.0.0.1:4000/search/
  printf '%s' 'a long password' | rcbs serve -hash-password    # a users file line: name:<hash>:*

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not serve, 2 bad configuration.

Flags:
`

func cmdServe(ctx context.Context, e *env, args []string) error {
	var cf configFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cf.config, "config", "", "configuration `FILE` (Java .properties; required)")
	hash := fs.Bool("hash-password", false, "read a password on stdin, print its bcrypt hash for the users file, exit")
	if err := parseFlags(e, fs, args, serveUsage); err != nil {
		return err
	}
	if *hash {
		return hashPassword(e)
	}
	if _, err := cf.resolve("serve"); err != nil {
		return err
	}
	cfg, err := loadConfig(e, cf.config)
	if err != nil {
		return err
	}
	return runServe(ctx, e, cfg)
}

// hashPassword prints the bcrypt hash of stdin's first line.
func hashPassword(e *env) error {
	if e.stdin == nil {
		return usagef("serve: -hash-password reads the password on stdin")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return usagef("serve: -hash-password: no password on stdin")
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return usagef("serve: -hash-password: the password is empty")
	}
	h, err := serve.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("serve: -hash-password: %w", err)
	}
	fmt.Fprintln(e.stdout, h)
	return nil
}

// runServe opens the archives and serves until ctx ends.
func runServe(ctx context.Context, e *env, cfg *config.Config) error {
	log := newLogger(e.stderr, cfg.LogFormat)
	opt, closeAll, err := serveOptions(ctx, e, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		return fmt.Errorf("serve: serveListen %s: %w", cfg.Serve.Listen, err)
	}
	opt.Listen = ln.Addr().String() // port 0: the one the system chose
	srv, err := serve.New(opt)
	if err != nil {
		ln.Close()
		return err
	}
	hs := srv.HTTPServer(cfg.Serve.Listen)
	scheme := "http"
	if cfg.Serve.TLSCert != "" {
		scheme = "https"
	}
	n, _ := opt.Index.Count(ctx)
	fmt.Fprintf(e.stdout, "rcbs serve: listening on %s://%s (%d archives, %d recordings indexed, media %s)\n",
		scheme, ln.Addr(), len(opt.Archives), n, map[bool]string{true: "decrypted", false: "as stored"}[opt.Key != nil])
	errc := make(chan error, 1)
	go func() {
		if cfg.Serve.TLSCert != "" {
			errc <- hs.ServeTLS(ln, cfg.Serve.TLSCert, cfg.Serve.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(shutdown)
	return nil
}

// serveOptions reads everything the server needs from the configuration.
// A bad key, users file or link secret is a configuration error (exit 2).
func serveOptions(ctx context.Context, e *env, cfg *config.Config, log *slog.Logger) (serve.Options, func(), error) {
	opt := serve.Options{Listen: cfg.Serve.Listen, Token: cfg.Serve.Token.Reveal(), LinkTTL: cfg.Serve.LinkTTL,
		TrustedProxies: cfg.Serve.TrustedProxies, Log: log}
	var err error
	if err = serveCredentials(cfg, &opt); err != nil {
		return opt, nil, err
	}
	if opt.Key, err = serveKey(cfg); err != nil {
		return opt, nil, err
	}
	if cfg.Serve.PublicURL != "" {
		opt.PublicURL, _ = url.Parse(cfg.Serve.PublicURL)
	}
	opt.Archives = append([]string{cfg.TargetDir}, cfg.Serve.Archives...)
	opt.Index = &archive.Set{}
	closeAll := func() { opt.Index.Close() }
	for i, root := range opt.Archives {
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			closeAll()
			return opt, nil, fmt.Errorf("serve: archive %s is not a folder", root)
		}
		x, err := openArchiveIndex(ctx, root, fmt.Sprintf("archive %d", i+1), log)
		if err != nil {
			closeAll()
			return opt, nil, fmt.Errorf("serve: index of %s: %w", root, err)
		}
		opt.Index.Indexes = append(opt.Index.Indexes, x)
	}
	auditPath := cfg.Serve.AuditLog
	if auditPath == "" {
		auditPath = filepath.Join(cfg.TargetDir, archive.MetaDir, archive.AuditFile)
	}
	if opt.Audit, err = archive.OpenAudit(auditPath, nil); err != nil {
		closeAll()
		return opt, nil, &config.Error{Key: "serveAuditLog", Problem: err.Error(), Value: auditPath}
	}
	return opt, func() { closeAll(); opt.Audit.Close() }, nil
}

// serveCredentials loads the users file and the link secret; without a
// token or users nobody could search, which is a configuration error.
func serveCredentials(cfg *config.Config, opt *serve.Options) error {
	if cfg.Serve.Users != "" {
		u, err := serve.LoadUsers(cfg.Serve.Users)
		if err != nil {
			return &config.Error{Key: "serveUsers", Problem: err.Error(), Value: cfg.Serve.Users}
		}
		opt.Users = u
	}
	if opt.Token == "" && opt.Users == nil {
		return &config.Error{Key: "serveUsers", Problem: "is required unless RCBS_SERVE_TOKEN is set: nobody could sign in", Value: ""}
	}
	if s := cfg.Serve.LinkSecret.Reveal(); s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		}
		if err != nil || len(b) < serve.LinkSecretSize {
			return usagef("serve: RCBS_SERVE_LINK_SECRET must be base64 of at least 32 random bytes, e.g. $(openssl rand -base64 32)")
		}
		opt.LinkSecret = b
	}
	return nil
}

// serveKey loads serveDecryptionKey (nil when unset).
func serveKey(cfg *config.Config) (*rsa.PrivateKey, error) {
	if cfg.Serve.DecryptionKey == "" {
		return nil, nil
	}
	b, err := os.ReadFile(cfg.Serve.DecryptionKey)
	if err != nil {
		return nil, &config.Error{Key: "serveDecryptionKey", Problem: "cannot be read: " + pathless(err), Value: cfg.Serve.DecryptionKey}
	}
	k, err := cms.ParseKey(b, []byte(cfg.Serve.KeyPassphrase.Reveal()))
	if err != nil {
		return nil, &config.Error{Key: "serveDecryptionKey", Problem: err.Error(), Value: cfg.Serve.DecryptionKey}
	}
	return k, nil
}

// pathless is an error without its *fs.PathError path (the key names it already).
func pathless(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
