package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// AuthError is a 401/403 from the API: the run stops at once.
type AuthError struct {
	User   string
	Status int
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("recordings API refused the credentials of %s", e.User)
}

// Options configure a Client. Zero values take the spec's defaults.
type Options struct {
	Prefix        string // gwsUriPrefix
	RecordingsURI string // default /recordings
	SettingsURI   string // default /me/settings/rcbs
	Username      string
	Password      string
	HTTPClient    *http.Client // carries the gws proxy; default http.DefaultClient
	Timeout       time.Duration
	Attempts      int           // per request, default 5
	BaseBackoff   time.Duration // first retry delay, default 500ms
	MaxBackoff    time.Duration // default 30s
	PageLimit     int           // default 100
}

// Client talks to the recordings API. It is safe for concurrent use.
type Client struct {
	opts Options
}

// NewClient checks opts and returns a client.
func NewClient(opts Options) (*Client, error) {
	return nil, errors.New("not implemented")
}

// Settings fetches the settings resource; a 404 gives zero Settings.
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	return Settings{}, errors.New("not implemented")
}

// List calls fn for every recording with start <= startTime < end, each ID
// once, paging lazily (fn runs before the next page is asked for). It returns
// fn's first error, or the listing's.
func (c *Client) List(ctx context.Context, start, end time.Time, fn func(Recording) error) error {
	return errors.New("not implemented")
}

// Media opens a media file that is not in S3 (mediaUri, else
// prefix+mediaPath) with the API's auth. The caller closes the body.
func (c *Client) Media(ctx context.Context, m MediaFile) (io.ReadCloser, error) {
	return nil, errors.New("not implemented")
}
