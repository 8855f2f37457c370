package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServeKeys(t *testing.T) {
	const prefix = "gwsUriPrefix=https://example.com/api/v2\n"
	env := map[string]string{"RCBS_SERVE_TOKEN": "tok-NEVER-SHOWN", "RCBS_KEY_PASSPHRASE": "pass-NEVER-SHOWN", "RCBS_SERVE_LINK_SECRET": "c2VjcmV0"}
	c, _, err := Parse(prefix, "t", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s := c.Serve
	if s.Listen != "127.0.0.1:4000" || s.LinkTTL != 15*time.Minute || s.PublicURL != "" || s.Archives != nil ||
		s.Token.Reveal() != "tok-NEVER-SHOWN" || s.KeyPassphrase.Reveal() != "pass-NEVER-SHOWN" || s.LinkSecret.Reveal() != "c2VjcmV0" {
		t.Errorf("defaults and environment: %+v", s)
	}
	if got := fmt.Sprintf("%v %+v", s, s); slices.ContainsFunc([]string{"NEVER-SHOWN", "c2VjcmV0"}, func(v string) bool {
		return strings.Contains(got, v)
	}) {
		t.Errorf("a serve secret shows when printed: %s", got)
	}
	c, _, err = Parse(prefix+`serveListen=0.0.0.0:8443
servePublicUrl=https://rec.example.com/
serveTlsCert=/etc/rcbs/tls.crt
serveTlsKey=/etc/rcbs/tls.key
serveArchives=/srv/a, /srv/b
serveDecryptionKey=/etc/rcbs/k.pem
serveUsers=/etc/rcbs/users
serveLinkTtl=PT1H
serveAuditLog=/var/log/rcbs/audit.log
serveTrustedProxies=127.0.0.1, 10.0.0.0/8
`, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	s = c.Serve
	if s.Listen != "0.0.0.0:8443" || s.PublicURL != "https://rec.example.com" || s.TLSCert == "" || s.TLSKey == "" ||
		!slices.Equal(s.Archives, []string{"/srv/a", "/srv/b"}) || s.DecryptionKey != "/etc/rcbs/k.pem" ||
		s.Users != "/etc/rcbs/users" || s.LinkTTL != time.Hour || s.AuditLog != "/var/log/rcbs/audit.log" ||
		!slices.Equal(s.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}) {
		t.Errorf("values: %+v", s)
	}
	for text, want := range map[string]string{
		"serveListen=4000\n":                `config: serveListen: must be host:port, e.g. 127.0.0.1:4000 (got "4000")`,
		"serveListen=127.0.0.1:99999\n":     `config: serveListen: must be host:port with a port 0-65535, e.g. 127.0.0.1:4000 (got "127.0.0.1:99999")`,
		"servePublicUrl=rec.example.com\n":  `config: servePublicUrl: must be an http:// or https:// URL (got "rec.example.com")`,
		"serveLinkTtl=P1M\n":                `config: serveLinkTtl: must not use years or months: give an ISO-8601 duration such as PT15M (got "P1M")`,
		"serveLinkTtl=P8D\n":                `config: serveLinkTtl: must be at most a week (P7D) (got "P8D")`,
		"serveTrustedProxies=10.0.0.0/99\n": `config: serveTrustedProxies: must be addresses or CIDR ranges, comma-separated, e.g. 127.0.0.1/32,10.0.0.0/8 (got "10.0.0.0/99")`,
		"serveTlsCert=/etc/rcbs/tls.crt\n":  `config: serveTlsKey: is required with serveTlsCert and serveTlsKey: set both or neither (got "")`,
		"serveArchives=C:\\\\recordings\n":  `config: serveArchives: must use / as the folder separator, not \ (got "C:\\recordings")`,
	} {
		_, _, err := Parse(prefix+text, "t", nil)
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v\nwant %s", text, err, want)
		}
	}
}
