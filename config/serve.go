package config

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Serve holds the keys of rcbs serve (spec §12). Paths are checked for
// syntax here and opened by rcbs serve, so that a backup run never fails
// over a serving setting.
type Serve struct {
	Listen         string // host:port
	PublicURL      string // "" derive from Listen
	TLSCert        string
	TLSKey         string
	Archives       []string // more targetDirs
	DecryptionKey  string   // PEM private key file
	Users          string   // users file
	LinkTTL        time.Duration
	AuditLog       string // "" <targetDir>/.rcbs/audit.log
	TrustedProxies []netip.Prefix

	// From the environment only.
	Token         Secret // RCBS_SERVE_TOKEN
	KeyPassphrase Secret // RCBS_KEY_PASSPHRASE
	LinkSecret    Secret // RCBS_SERVE_LINK_SECRET, base64 of ≥ 32 bytes
}

// serveKeys are spec §12's keys, in its order.
func serveKeys() []keySpec {
	return []keySpec{
		{"serveListen", "127.0.0.1:4000", func(c *Config, v string) (err error) { c.Serve.Listen, err = parseListen(v); return }},
		{"servePublicUrl", "", func(c *Config, v string) (err error) { c.Serve.PublicURL, err = parseURL(v); return }},
		{"serveTlsCert", "", func(c *Config, v string) (err error) { c.Serve.TLSCert, err = parsePath(v); return }},
		{"serveTlsKey", "", func(c *Config, v string) (err error) { c.Serve.TLSKey, err = parsePath(v); return }},
		{"serveArchives", "", setServeArchives},
		{"serveDecryptionKey", "", func(c *Config, v string) (err error) { c.Serve.DecryptionKey, err = parsePath(v); return }},
		{"serveUsers", "", func(c *Config, v string) (err error) { c.Serve.Users, err = parsePath(v); return }},
		{"serveLinkTtl", "PT15M", setLinkTTL},
		{"serveAuditLog", "", func(c *Config, v string) (err error) { c.Serve.AuditLog, err = parsePath(v); return }},
		{"serveTrustedProxies", "", setTrustedProxies},
	}
}

func parseListen(v string) (string, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil || strings.ContainsAny(host, "/ ") {
		return "", errors.New("must be host:port, e.g. 127.0.0.1:4000")
	}
	// Port 0 lets the system choose (printed at start): for tests and demos.
	if err := checkPort(port); port != "0" && (err != nil || port == "") {
		return "", errors.New("must be host:port with a port 0-65535, e.g. 127.0.0.1:4000")
	}
	return v, nil
}

func setServeArchives(c *Config, v string) error {
	c.Serve.Archives = nil
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		p, err := parsePath(p)
		if err != nil {
			return err
		}
		c.Serve.Archives = append(c.Serve.Archives, p)
	}
	return nil
}

func setLinkTTL(c *Config, v string) error {
	d, err := parseWeekAtMost(v, "an ISO-8601 duration such as PT15M")
	if err == nil && d < time.Second {
		err = errors.New("must be at least a second")
	}
	if err != nil {
		return err
	}
	c.Serve.LinkTTL = d
	return nil
}

func setTrustedProxies(c *Config, v string) error {
	c.Serve.TrustedProxies = nil
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return errors.New("must be addresses or CIDR ranges, comma-separated, e.g. 127.0.0.1/32,10.0.0.0/8")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.Serve.TrustedProxies = append(c.Serve.TrustedProxies, p.Masked())
	}
	return nil
}

// checkServe applies the rules between serve keys.
func (c *Config) checkServe() error {
	if (c.Serve.TLSCert == "") != (c.Serve.TLSKey == "") {
		k := "serveTlsKey"
		if c.Serve.TLSCert == "" {
			k = "serveTlsCert"
		}
		return &Error{Key: k, Problem: "is required with serveTlsCert and serveTlsKey: set both or neither", Value: c.Value(k)}
	}
	return nil
}

func (c *Config) readServeEnv(getenv func(string) string) {
	c.Serve.Token = Secret(getenv("RCBS_SERVE_TOKEN"))
	c.Serve.KeyPassphrase = Secret(getenv("RCBS_KEY_PASSPHRASE"))
	c.Serve.LinkSecret = Secret(getenv("RCBS_SERVE_LINK_SECRET"))
}
