package metadata

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout is the per-request timeout when none is given (spec §2
// requestTimeout).
const DefaultTimeout = 60 * time.Second

// NewHTTPClient returns an HTTP client tuned for the recordings API:
// keep-alive with enough idle connections per host for every worker.
//
// proxyURL is the gws proxy as "http://host:port" (the caller joins
// gwsProxyHost and gwsProxyPort; a missing scheme means http); "" falls back
// to the environment's HTTPS_PROXY/HTTP_PROXY/NO_PROXY. A proxy URL that does
// not parse makes every request fail with a message that does not repeat it
// (it may carry a password).
//
// timeout bounds connecting, the TLS handshake and the wait for response
// headers, not the body: a media file may stream for long, and Client bounds
// each page itself.
func NewHTTPClient(proxyURL string, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := &http.Transport{
		Proxy:                 proxyFunc(proxyURL),
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr}
}

func proxyFunc(proxyURL string) func(*http.Request) (*url.URL, error) {
	proxyURL = strings.TrimSpace(proxyURL)
	if proxyURL == "" {
		return http.ProxyFromEnvironment
	}
	if !strings.Contains(proxyURL, "://") {
		proxyURL = "http://" + proxyURL
	}
	u, err := url.Parse(proxyURL)
	if err != nil || u.Host == "" {
		bad := errors.New("gws proxy: not a valid URL (want http://host:port)")
		return func(*http.Request) (*url.URL, error) { return nil, bad }
	}
	return http.ProxyURL(u)
}

// origin is what must match for credentials to be sent: scheme, host, port.
type origin struct{ scheme, host, port string }

func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "http":
			o.port = "80"
		case "https":
			o.port = "443"
		}
	}
	return o
}

// RefusedError is a request the Client will not make: a paging.next,
// mediaUri or mediaPath on another origin or carrying credentials, one that
// is not a URL, or a media file with nowhere to fetch it from. Asking again
// gives the same answer, so it is permanent.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// resolve turns a paging.next or a mediaUri into the URL to ask. An absolute
// URL must have the prefix's scheme, host and port (credentials go nowhere
// else); a path starting with "/" is appended to the prefix as text (spec
// §7); any other relative reference is resolved against base, the URL it
// came from.
func (c *Client) resolve(what, ref, base string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", refused("%s is not a URL: %v", what, err)
	}
	full := ref
	switch {
	case u.IsAbs():
	case strings.HasPrefix(ref, "/"):
		full = c.prefix + ref
	default:
		b, err := url.Parse(base)
		if err != nil {
			return "", refused("%s: %v", what, err)
		}
		full = b.ResolveReference(u).String()
	}
	return full, c.checkOrigin(what, full)
}

// checkOrigin refuses a URL the API's credentials must not go to. The host
// is quoted: it is the server's text.
func (c *Client) checkOrigin(what, full string) error {
	u, err := url.Parse(full)
	if err != nil {
		return refused("%s is not a URL: %v", what, err)
	}
	if u.User != nil {
		return refused("%s carries credentials in its URL; refused", what)
	}
	if originOf(u) != c.origin {
		return refused("%s points to another host (%s); the API's credentials are only sent to %s://%s",
			what, printable(u.Scheme+"://"+u.Host, maxServerText), c.origin.scheme, c.prefixHost)
	}
	return nil
}

// checkRedirect follows up to 10 redirects but drops the credentials when
// one leaves the prefix's origin (Go would keep them for a subdomain).
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if originOf(req.URL) != c.origin {
		req.Header.Del("Authorization")
	}
	return nil
}

// redact renders a transport error without the URL Go puts in it, so no
// query or userinfo leaks into logs.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
