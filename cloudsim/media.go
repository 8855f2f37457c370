package cloudsim

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rcbs/rcbs/cms"
)

// Key file names written by WriteKeys.
const (
	KeyFileName  = "rcbs-sim.key.pem"
	CertFileName = "rcbs-sim.cert.pem"
)

// keyPair is the recipient every encrypted media file is encrypted to, and
// a throwaway second recipient made on first use (some vendor files carry
// two RecipientInfos; rcbs must pick the one matching its key).
type keyPair struct {
	key     *rsa.PrivateKey
	cert    *x509.Certificate
	keyPEM  []byte
	certPEM []byte

	otherOnce sync.Once
	other     *x509.Certificate
	otherErr  error
}

// newKeyPair uses keyPEM (PKCS#1 or PKCS#8) when given, else a new RSA-2048
// key. Since Go 1.26 crypto/rsa ignores custom random sources, so a seed
// cannot make the key repeatable: pass the key to keep it across runs.
func newKeyPair(keyPEM []byte, notBefore time.Time) (*keyPair, error) {
	var key *rsa.PrivateKey
	var err error
	if len(keyPEM) > 0 {
		key, err = cms.ParseKey(keyPEM, nil)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return nil, fmt.Errorf("recipient key: %w", err)
	}
	cert, certDER, err := selfSigned(key, "rcbs simulated recording cloud", 1, notBefore)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return &keyPair{
		key:     key,
		cert:    cert,
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
	}, nil
}

// selfSigned makes a certificate fit for `openssl cms -encrypt`. Serial and
// validity are fixed so that the same key gives the same certificate.
func selfSigned(key *rsa.PrivateKey, cn string, serial int64, notBefore time.Time) (*x509.Certificate, []byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"rcbs simulator"}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-sign %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", cn, err)
	}
	return cert, der, nil
}

// otherRecipient is the throwaway second recipient, generated once.
func (k *keyPair) otherRecipient() (*x509.Certificate, error) {
	k.otherOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			k.otherErr = fmt.Errorf("second recipient key: %w", err)
			return
		}
		k.other, _, k.otherErr = selfSigned(key, "rcbs simulator second recipient", 2, k.cert.NotBefore)
	})
	return k.other, k.otherErr
}

// blob holds the stored bytes of one media file: in memory, or in a file
// under the spool folder (large profiles), so that tens of MB per file do
// not have to sit in RAM.
type blob struct {
	data []byte
	path string
	size int64
	md5  []byte
}

// open returns the stored bytes; the caller closes them.
func (b *blob) open() (io.ReadSeekCloser, error) {
	if b.path == "" {
		return nopCloser{bytes.NewReader(b.data)}, nil
	}
	f, err := os.Open(b.path)
	if err != nil {
		return nil, fmt.Errorf("open spooled media: %w", err)
	}
	return f, nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// mediaSpec is what the generator decided for one media file; makeBlob
// turns it into bytes.
type mediaSpec struct {
	plainSize  int64
	plainSeed  [32]byte // the plaintext is a ChaCha8 stream from this seed (or silent MP3 frames filled from it)
	mp3        bool     // audio/mp3: plainSize is whole frames of silentMP3
	encSeed    [32]byte // content key and IV
	encrypted  bool
	cipher     cms.Cipher
	recipients int // 1 or 2
	// sizeAsNumber: the JSON gives size as a number, not a string
	sizeAsNumber bool
	spoolName    string
}

// makeBlob writes the media's stored bytes (encrypted unless spec says
// plain) to memory or to spoolDir, and returns them with their sizes and
// hashes filled into m.
func (c *Cloud) makeBlob(spec mediaSpec, m *Media) (*blob, error) {
	w, finish, err := c.blobWriter(spec)
	if err != nil {
		return nil, err
	}
	stored, plain, md := sha256.New(), sha256.New(), md5.New()
	counted := &countWriter{w: io.MultiWriter(w, stored, md)}
	var plainSrc io.Reader = io.LimitReader(mrand.NewChaCha8(spec.plainSeed), spec.plainSize)
	if spec.mp3 {
		plainSrc = newSilentMP3(spec.plainSeed, spec.plainSize)
	}
	src := io.TeeReader(plainSrc, plain)
	if err := c.writeMedia(counted, src, spec); err != nil {
		finish(false)
		return nil, fmt.Errorf("generate media %s: %w", m.MediaID, err)
	}
	b, err := finish(true)
	if err != nil {
		return nil, err
	}
	b.size, b.md5 = counted.n, md.Sum(nil)
	m.Size, m.Encrypted = counted.n, spec.encrypted
	if spec.encrypted {
		m.Cipher, m.Recipients = spec.cipher, spec.recipients
	}
	copy(m.SHA256[:], stored.Sum(nil))
	copy(m.PlainSHA256[:], plain.Sum(nil))
	return b, nil
}

func (c *Cloud) writeMedia(w io.Writer, src io.Reader, spec mediaSpec) error {
	if !spec.encrypted {
		_, err := io.Copy(w, src)
		return err
	}
	recips := []*x509.Certificate{c.keys.cert}
	if spec.recipients > 1 {
		other, err := c.keys.otherRecipient()
		if err != nil {
			return err
		}
		recips = append(recips, other)
	}
	return cms.Encrypt(w, src, spec.plainSize, recips, spec.cipher, mrand.NewChaCha8(spec.encSeed))
}

// blobWriter returns where the bytes go and a finish func that keeps
// (ok) or discards them.
func (c *Cloud) blobWriter(spec mediaSpec) (io.Writer, func(ok bool) (*blob, error), error) {
	if c.spoolDir == "" {
		buf := &bytes.Buffer{}
		return buf, func(bool) (*blob, error) { return &blob{data: buf.Bytes()}, nil }, nil
	}
	path := filepath.Join(c.spoolDir, spec.spoolName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("spool media: %w", err)
	}
	finish := func(ok bool) (*blob, error) {
		err := f.Close()
		if !ok || err != nil {
			os.Remove(path)
			return nil, errors.Join(err, errors.New("media not spooled"))
		}
		return &blob{path: path}, nil
	}
	return f, finish, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
