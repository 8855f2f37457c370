package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rcbs/rcbs/internal/retry"
)

// AuthError is a 401/403 from the API: the run stops at once.
type AuthError struct {
	User   string
	Status int
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("recordings API refused the credentials of %s", e.User)
}

// HTTPError is an API answer with an unexpected HTTP status. Message is the
// answer's statusMessage when it has one, with the credentials replaced and
// control characters escaped (see scrubber). Host is set when the answer
// came from another origin than the API's, after a redirect (a media file
// served elsewhere): such a 401/403 is an HTTPError, not an *AuthError,
// since that host never saw the API's credentials.
type HTTPError struct {
	Status  int
	Message string
	Host    string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Host != "" {
		s += " from " + e.Host + " (redirected there)"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Options configure a Client. Zero values take the spec's defaults.
type Options struct {
	Prefix        string // gwsUriPrefix; a trailing "/" is dropped
	RecordingsURI string // default /recordings
	SettingsURI   string // default /me/settings/rcbs
	// Username and Password are sent as Basic auth on every request; both
	// empty sends none (the simulator needs none).
	Username string
	Password string
	// HTTPClient carries the gws proxy; default NewHTTPClient("", Timeout).
	// Its CheckRedirect is replaced so that credentials never follow a
	// redirect to another origin.
	HTTPClient  *http.Client
	Timeout     time.Duration // per request: a whole page, or a media file's headers; default 60s
	Attempts    int           // per request, default 5
	BaseBackoff time.Duration // first retry delay, default 500ms
	MaxBackoff  time.Duration // cap of a retry delay and of Retry-After, default 30s
	PageLimit   int           // default 100

	MaxPageBytes int64        // a bigger page body is refused; default 64 MiB
	MaxPages     int          // pages per time range before giving up; default 100,000
	Logger       *slog.Logger // retries (debug) and range splits (info, warn); default discards
}

// Client talks to the recordings API. It is safe for concurrent use.
type Client struct {
	opts       Options
	hc         *http.Client
	prefix     string // without a trailing "/"
	origin     origin
	prefixHost string
	log        *slog.Logger
	scrub      scrubber // cleans the server's text before it enters an error
}

// NewClient checks opts and returns a client. A prefix with user:password@
// is refused: credentials come from the environment only (spec §2), and a
// URL carrying them would leak into messages.
func NewClient(opts Options) (*Client, error) {
	opts = withDefaults(opts)
	u, err := url.Parse(opts.Prefix)
	switch {
	case opts.Prefix == "":
		return nil, errors.New("recordings API: gwsUriPrefix is empty")
	case err != nil:
		return nil, fmt.Errorf("recordings API: gwsUriPrefix is not a URL: %w", redact(err))
	case u.User != nil:
		return nil, errors.New("recordings API: gwsUriPrefix must not contain credentials; set GWS_USERNAME and GWS_PASSWORD")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, errors.New("recordings API: gwsUriPrefix must be an http:// or https:// URL with a host")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("recordings API: gwsUriPrefix must not have a query or fragment")
	}
	c := &Client{
		opts:       opts,
		prefix:     strings.TrimRight(opts.Prefix, "/"),
		origin:     originOf(u),
		prefixHost: u.Host,
		log:        opts.Logger,
		scrub:      newScrubber(opts.Username, opts.Password),
	}
	hc := *opts.HTTPClient // a copy: the caller's client keeps its own policy
	hc.CheckRedirect = c.checkRedirect
	c.hc = &hc
	return c, nil
}

func withDefaults(o Options) Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Timeout, DefaultTimeout)
	def(&o.BaseBackoff, 500*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	if o.RecordingsURI == "" {
		o.RecordingsURI = "/recordings"
	}
	if o.SettingsURI == "" {
		o.SettingsURI = "/me/settings/rcbs"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = NewHTTPClient("", o.Timeout)
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.PageLimit <= 0 {
		o.PageLimit = 100
	}
	if o.MaxPageBytes <= 0 {
		o.MaxPageBytes = DefaultMaxPageBytes
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Settings fetches the settings resource; a 404 gives zero Settings.
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	u := c.prefix + c.opts.SettingsURI
	var s Settings
	err := c.withRetry(ctx, "GET "+pathOf(u), func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		resp, err := c.get(ctx, u)
		if err != nil {
			return err
		}
		defer drainClose(resp.Body)
		if resp.StatusCode == http.StatusNotFound {
			s = Settings{}
			return nil
		}
		if err := c.checkStatus(resp); err != nil {
			return err
		}
		s, err = decodeSettings(io.LimitReader(resp.Body, 1<<20))
		return retryUnlessStatus(err)
	})
	if err != nil {
		return Settings{}, fmt.Errorf("recordings API settings: %w", err)
	}
	return s, nil
}

// decodeSettings reads {"statusCode":0,"settings":{...}}. A settings list of
// {"name":…,"value":…} pairs (another GWS shape) is accepted too.
func decodeSettings(r io.Reader) (Settings, error) {
	var w struct {
		StatusCode    json.RawMessage `json:"statusCode"`
		StatusMessage json.RawMessage `json:"statusMessage"`
		Settings      json.RawMessage `json:"settings"`
	}
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		return Settings{}, fmt.Errorf("decode settings: %w", err)
	}
	if code, _ := jsonScalar(w.StatusCode); code != "" && code != "0" {
		msg, _ := jsonScalar(w.StatusMessage)
		return Settings{}, &StatusError{Code: code, Message: msg}
	}
	kv := map[string]json.RawMessage{}
	if json.Unmarshal(w.Settings, &kv) != nil {
		var list []struct {
			Name  string          `json:"name"`
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		_ = json.Unmarshal(w.Settings, &list) // neither shape: no settings
		for _, e := range list {
			kv[e.Name+e.Key] = e.Value
		}
	}
	region, _ := jsonString(kv["awsRegion"])
	bucket, _ := jsonString(kv["s3Bucket"])
	return Settings{AWSRegion: region, S3Bucket: bucket}, nil
}

// Media opens a media file that is not in S3 (mediaUri, else
// prefix+mediaPath) with the API's auth. The caller closes the body.
//
// It makes a single attempt: the caller retries (the backup engine owns
// attempts and backoff for every media file, S3 or API, and knows how much
// it wrote), so a failure worth retrying (429, 5xx, a transport error, late
// headers) wraps a *retry.Error carrying the server's Retry-After. Timeout
// bounds only the wait for the headers: the body may stream for long. mediaUri follows the same
// rules as paging.next: same origin as the prefix, or a path appended to it.
// Accept is application/json here too, as on every API request (spec §7).
// A URL it will not ask (another origin, credentials in it) or a media file
// with no source is a *RefusedError, at once and without a request.
func (c *Client) Media(ctx context.Context, m MediaFile) (io.ReadCloser, error) {
	u, err := c.mediaURL(m)
	if err != nil {
		return nil, err
	}
	var body io.ReadCloser
	err = c.attempts(ctx, retry.Policy{Attempts: 1}, "GET "+pathOf(u), func(ctx context.Context) error {
		var err error
		body, err = c.openMedia(ctx, u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("media %s: %w", m.MediaID, err)
	}
	return body, nil
}

func (c *Client) mediaURL(m MediaFile) (string, error) {
	switch {
	case m.MediaURI != "":
		u, err := c.resolve("mediaUri", m.MediaURI, c.prefix)
		if err != nil {
			return "", fmt.Errorf("media %s: %w", m.MediaID, err)
		}
		return u, nil
	case m.MediaPath != "":
		u := c.prefix + "/" + strings.TrimPrefix(m.MediaPath, "/") // {gwsUriPrefix}{mediaPath}, as text
		if err := c.checkOrigin("mediaPath", u); err != nil {
			return "", fmt.Errorf("media %s: %w", m.MediaID, err)
		}
		return u, nil
	}
	return "", fmt.Errorf("media %s: %w", m.MediaID, refused("no awsS3 descriptor, mediaUri or mediaPath"))
}

// openMedia is one attempt: a timer cancels the request if the headers are
// late; once they are in, the body lives until the caller closes it. The
// transport's own header timeout (NewHTTPClient sets it to the same value)
// may fire first: it is the same event, reported the same way.
func (c *Client) openMedia(ctx context.Context, u string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.opts.Timeout, cancel)
	resp, err := c.get(ctx, u)
	if late := !timer.Stop(); late || isTimeout(err) {
		if err == nil {
			drainClose(resp.Body)
		}
		err = &retryable{Err: fmt.Errorf("no response headers within %s", c.opts.Timeout)}
	}
	if err == nil {
		err = c.checkStatus(resp)
		if err != nil {
			drainClose(resp.Body)
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelBody{ReadCloser: resp.Body, cancel: cancel}, nil
}

// isTimeout reports a transport timeout (dialling, TLS, response headers).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cancelBody releases the request's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// get sends one GET with the API's headers. A transport error is retryable;
// withRetry tells the caller's cancellation apart.
func (c *Client) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", redact(err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "rcbs")
	if c.opts.Username != "" || c.opts.Password != "" {
		req.SetBasicAuth(c.opts.Username, c.opts.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &retryable{Err: redact(err)}
	}
	return resp, nil
}

// checkStatus classifies an answer by its HTTP status: 2xx is fine, 401/403
// from the API's own origin an *AuthError, 429 and 5xx retryable (with
// Retry-After), others final. The origin is the answer's, after redirects:
// another host's 401/403 (a redirect drops the credentials) is a plain
// *HTTPError naming that host, so one media file fails, not the run.
func (c *Client) checkStatus(resp *http.Response) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	elsewhere := resp.Request != nil && resp.Request.URL != nil && originOf(resp.Request.URL) != c.origin
	if !elsewhere && (code == http.StatusUnauthorized || code == http.StatusForbidden) {
		return &AuthError{User: c.opts.Username, Status: code}
	}
	err := &HTTPError{Status: code, Message: statusMessage(resp.Body)}
	if elsewhere {
		err.Host = resp.Request.URL.Host
	}
	if code == http.StatusTooManyRequests || code >= 500 {
		return &retryable{Err: err, After: retry.ParseAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return err
}

// statusMessage reads the statusMessage of an error answer, if it has one.
// It is returned whole (up to what 4 KiB of body hold): cutting it here
// could leave half of a credential that the scrubber would not recognise.
func statusMessage(body io.Reader) string {
	var w struct {
		StatusMessage json.RawMessage `json:"statusMessage"`
	}
	if json.NewDecoder(io.LimitReader(body, 4<<10)).Decode(&w) != nil {
		return ""
	}
	s, _ := jsonScalar(w.StatusMessage)
	return s
}

// drainClose reads a little of what is left so the connection can be
// reused, then closes the body.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

// pathOf is a URL without scheme and host, for messages: shorter, and it
// can never carry userinfo.
func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(bad URL)"
	}
	return p.RequestURI()
}
