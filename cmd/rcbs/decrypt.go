package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/decrypt"
)

const decryptUsage = `Usage: rcbs decrypt -key KEY.pem [-cert CERT.pem] [-out DIR] [-j N] [-force] PATH...

Decrypts every *.bin file under each PATH (a file or a folder) and writes the
plaintext beside it without the .bin suffix, or with -out under DIR, mirroring
each folder's tree (a file PATH goes straight into DIR; recording.json files
are copied along). Output is byte-identical to
  openssl cms -decrypt -inform DER -binary -inkey KEY.pem -in F.bin -out F
A file is written under a temporary name and renamed into place only when it
decrypted cleanly. An existing output is complete, so it is kept and counted
as skipped (a nightly decrypt does only the new files); -force replaces it.

An encrypted PKCS#8 key takes its passphrase from RCBS_KEY_PASSPHRASE.
Without -cert a wrong key fails on the padding, except about 1 file in 256
that then decrypts to garbage; -cert (the recipient certificate) makes the
match exact.

Example:
  RCBS_KEY_PASSPHRASE=... rcbs decrypt -key recordings.key -cert recordings.crt \
      -out /srv/plain /srv/rcbs/2018

Exit codes: 0 nothing failed (decrypted or skipped), 1 some files failed
(each named on stderr), 2 usage or key error (a key that cannot be used, or
that does not belong to -cert: nothing is touched), 130 interrupted.

Flags:
`

// cmdDecrypt parses the flags, loads the key and hands the tree to decrypt.Run.
func cmdDecrypt(ctx context.Context, e *env, args []string) error {
	opts, err := parseDecryptFlags(e, args)
	if err != nil {
		return err
	}
	start := time.Now()
	con := newConsole(e.stderr) // file errors clear and redraw the bar
	meter := newProgressMeter("files", e.isTerminal, con, newLogger(con, "text"), cronInterval)
	opts.Progress = decryptProgress{m: meter, errs: con}
	sum, err := decrypt.Run(ctx, opts)
	meter.Close()
	fmt.Fprintf(e.stdout, "decrypted %d, skipped %d, failed %d, bytes %d, %s\n",
		sum.Decrypted, sum.Skipped, sum.Failed, sum.Bytes, time.Since(start).Round(time.Millisecond))
	return err
}

func parseDecryptFlags(e *env, args []string) (decrypt.Options, error) {
	fs := flag.NewFlagSet("decrypt", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help printed below
	fs.Usage = func() {}
	keyFile := fs.String("key", "", "RSA private key, PEM (PKCS#1, PKCS#8 or encrypted PKCS#8)")
	certFile := fs.String("cert", "", "recipient certificate, PEM (optional; exact recipient match)")
	var opts decrypt.Options
	fs.StringVar(&opts.Out, "out", "", "write plaintext under this folder instead of beside the input")
	fs.IntVar(&opts.Jobs, "j", runtime.NumCPU(), "files decrypted in parallel")
	fs.BoolVar(&opts.Force, "force", false, "replace existing output files (default: skip them)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, decryptUsage)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
		}
		return opts, decryptUsageError(err)
	}
	opts.Paths = fs.Args()
	switch {
	case *keyFile == "":
		return opts, usagef("decrypt: -key is required (see rcbs decrypt -h)")
	case len(opts.Paths) == 0:
		return opts, usagef("decrypt: no PATH given (see rcbs decrypt -h)")
	case opts.Jobs < 1:
		return opts, usagef("decrypt: -j must be at least 1 (got %d)", opts.Jobs)
	}
	var err error
	if opts.Key, err = loadKey("decrypt", *keyFile, e.getenv("RCBS_KEY_PASSPHRASE")); err != nil {
		return opts, err
	}
	if *certFile == "" {
		return opts, nil
	}
	if opts.Cert, err = loadCert(*certFile); err != nil {
		return opts, err
	}
	// Checked here, not per file: every file would fail the same way.
	if !opts.Key.PublicKey.Equal(opts.Cert.PublicKey) {
		return opts, usagef("decrypt: -key %s does not belong to -cert %s (their public keys differ): "+
			"give the key of that certificate, or the certificate of that key", *keyFile, *certFile)
	}
	return opts, nil
}

func decryptUsageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usagef("decrypt: %v (see rcbs decrypt -h)", err)
}

// loadKey reads the key; a bad key is a usage error (exit 2), like a bad
// config value: nothing was attempted yet.
func loadKey(cmd, name, passphrase string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usagef("%s: -key: %v", cmd, err)
	}
	k, err := cms.ParseKey(b, []byte(passphrase))
	if err != nil {
		return nil, usagef("%s: -key %s: %v", cmd, name, err)
	}
	return k, nil
}

func loadCert(name string) (*x509.Certificate, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usagef("decrypt: -cert: %v", err)
	}
	c, err := cms.ParseCertificate(b)
	if err != nil {
		return nil, usagef("decrypt: -cert %s: %v", name, err)
	}
	return c, nil
}

// decryptProgress shows a decryption's progress on the shared progress
// meter (a bar on a terminal, a line per 10% under cron) and names each
// failed file on errs as it happens.
type decryptProgress struct {
	m    *progressMeter
	errs io.Writer // nil: failures are only counted
}

func (p decryptProgress) Total(files int, bytes int64) { p.m.AddTotal(files) }

func (p decryptProgress) FileDone(_ string, bytes int64, err error) {
	p.m.AddBytes(bytes)
	if err == nil {
		p.m.ItemDone()
		return
	}
	p.m.ItemFailed()
	if p.errs != nil {
		fmt.Fprintf(p.errs, "rcbs: %v\n", err)
	}
}
