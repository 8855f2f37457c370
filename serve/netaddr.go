package serve

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// ClientAddr is the address a request came from: the peer, or, when the
// peer is a trusted proxy, the last address in X-Forwarded-For that is not
// itself a trusted proxy (spec §12: X-Forwarded-* believed only from
// serveTrustedProxies).
func (s *Server) ClientAddr(r *http.Request) string {
	peer := peerAddr(r)
	if !s.trusted(peer) {
		return addrString(peer, r.RemoteAddr)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
	}
	return addrString(peer, r.RemoteAddr)
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func addrString(a netip.Addr, raw string) string {
	if a.IsValid() {
		return a.String()
	}
	return raw
}

func (s *Server) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.opt.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PublicBase is the URL links start with: servePublicUrl when set; else,
// from a trusted proxy, its X-Forwarded-Proto and -Host; else
// http://<serveListen>.
func (s *Server) PublicBase(r *http.Request) string {
	if s.opt.PublicURL != nil {
		return strings.TrimRight(s.opt.PublicURL.String(), "/")
	}
	if s.trusted(peerAddr(r)) {
		proto, host := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")
		if (proto == "http" || proto == "https") && validHost(host) {
			return proto + "://" + host
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + s.opt.Listen
}

func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, "/\\?#@ ") {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h
}
