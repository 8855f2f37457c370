package cloudsim

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"
)

// Properties returns a config.properties for this cloud writing to
// targetDir. A window given in Options becomes maxDate/minDate (epoch ms:
// exactly [Start, End)); the default window, which ends at New's "now",
// becomes maxAge in whole days with a day to spare, so that a run started
// later still covers it.
func (c *Cloud) Properties(targetDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# config.properties for the rcbs simulated recording cloud (seed %d)\n", c.opts.Seed)
	fmt.Fprintf(&b, "gwsUriPrefix=%s\n", c.APIURL())
	fmt.Fprintf(&b, "awsEndpoint=%s\n", c.S3URL())
	fmt.Fprintf(&b, "awsRegion=%s\n", c.opts.Region)
	fmt.Fprintf(&b, "targetDir=%s\n", filepath.ToSlash(targetDir))
	if c.relative {
		days := int(math.Ceil(c.opts.End.Sub(c.opts.Start).Hours()/24)) + 1
		fmt.Fprintf(&b, "# recordings start in the %s before %s\n", c.opts.End.Sub(c.opts.Start), c.opts.End.Format(time.RFC3339))
		fmt.Fprintf(&b, "maxAge=%d\n", days)
	} else {
		fmt.Fprintf(&b, "# recordings start in [%s, %s)\n", c.opts.Start.UTC().Format(time.RFC3339Nano), c.opts.End.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(&b, "maxDate=%d\n", c.opts.Start.UnixMilli())
		fmt.Fprintf(&b, "minDate=%d\n", c.opts.End.UnixMilli())
	}
	return b.String()
}

// Env returns the environment rcbs needs for this cloud, as KEY=value
// lines: the API's Basic auth (when it demands one) and the S3 keys
// (anything works for the in-process S3; UploadTo's after it).
func (c *Cloud) Env() []string {
	var env []string
	if c.opts.Username != "" || c.opts.Password != "" {
		env = append(env, "GWS_USERNAME="+c.opts.Username, "GWS_PASSWORD="+c.opts.Password)
	}
	access, secret := c.opts.AccessKey, c.opts.SecretKey
	c.mu.RLock()
	if c.external != nil {
		access, secret = c.external.access, c.external.secret
	}
	c.mu.RUnlock()
	return append(env, "AWS_ACCESS_KEY_ID="+access, "AWS_SECRET_ACCESS_KEY="+secret)
}
