package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/magiconair/properties"
)

// maxFileSize bounds config.properties: a real one is a few KiB, and
// anything larger is surely the wrong file.
const maxFileSize = 1 << 20

// Load reads the properties file at path and the environment (through
// getenv; nil means an empty environment) into a validated Config. warnings
// are for the user (unknown keys, ignored keys); they are returned even with
// an error. The error is a *FileError when the file is unusable, else an
// *Error for the first bad value in file order.
func Load(path string, getenv func(string) string) (*Config, []string, error) {
	b, err := readSmall(path, maxFileSize)
	if err != nil {
		return nil, nil, &FileError{Path: path, Problem: err.Error(), Err: errors.Unwrap(err)}
	}
	return Parse(string(b), path, getenv)
}

// Parse is Load on text already read; file names it in messages. Values are
// trimmed, and an empty value counts as unset (its default applies).
// Credentials come from getenv only: GWS_USERNAME, GWS_PASSWORD,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and JOB_COMPLETION_INDEX for the
// instance. Their absence is not an error here: the simulator needs no API
// credentials and S3 falls back to the SDK's chain; a run without them
// fails on the API's 401 with a message naming the user.
func Parse(text, file string, getenv func(string) string) (*Config, []string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	p, err := parseProperties(text, file)
	if err != nil {
		return nil, nil, err
	}
	c := Defaults()
	c.File, c.values = file, map[string]string{}
	warnings, err := c.setAll(p)
	if err == nil {
		err = c.check(getenv)
	}
	if err != nil {
		return nil, warnings, err
	}
	c.readEnv(getenv)
	return c, append(warnings, c.warnings(getenv)...), nil
}

// parseProperties checks that text is text and reads it with Java syntax,
// ${...} left literal. Text that is not UTF-8 is read as ISO-8859-1, the
// encoding Java's Properties.load assumes.
func parseProperties(text, file string) (*properties.Properties, error) {
	if i := strings.IndexFunc(text, isBinary); i >= 0 {
		return nil, &FileError{Path: file, Problem: fmt.Sprintf("is not a text properties file (byte %#02x at offset %d)", text[i], i)}
	}
	enc := properties.UTF8
	if !utf8.ValidString(text) {
		enc = properties.ISO_8859_1
	}
	l := &properties.Loader{Encoding: enc, DisableExpansion: true}
	p, err := l.LoadBytes([]byte(text))
	if err != nil {
		return nil, &FileError{Path: file, Problem: propertiesProblem(err), Err: err}
	}
	return p, nil
}

// isBinary flags bytes no properties file has: NUL and the C0 controls
// other than tab, newline, form feed and carriage return.
func isBinary(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\f' && r != '\r' || r == 0x7f
}

var linePrefix = regexp.MustCompile(`^properties: Line (\d+): `)

// propertiesProblem rewrites the library's "properties: Line 3: x" as
// "line 3: x".
func propertiesProblem(err error) string {
	return linePrefix.ReplaceAllString(err.Error(), "line $1: ")
}

// setAll applies every key of p in file order: the first bad value is the
// error; unknown keys become warnings.
func (c *Config) setAll(p *properties.Properties) ([]string, error) {
	specs := map[string]keySpec{}
	for _, k := range keyTable() {
		specs[k.name] = k
	}
	var warnings []string
	for _, key := range p.Keys() {
		raw, _ := p.Get(key)
		v := strings.TrimSpace(raw)
		spec, ok := specs[key]
		if !ok {
			warnings = append(warnings, unknownKey(c.File, key))
			continue
		}
		if v == "" {
			continue
		}
		c.values[key] = v
		if err := spec.set(c, v); err != nil {
			return warnings, &Error{Key: key, Problem: err.Error(), Value: shown(v)}
		}
	}
	return warnings, nil
}

// shown is a value as quoted in an error: URL passwords redacted, long
// values cut.
func shown(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			v = u.Redacted()
		}
	}
	if len(v) > 200 {
		v = v[:200] + "…"
	}
	return v
}

// has reports whether the file sets key (to a non-empty value).
func (c *Config) has(key string) bool { _, ok := c.values[key]; return ok }

// check applies the rules that involve several keys or the environment.
func (c *Config) check(getenv func(string) string) error {
	if c.GWSURIPrefix == "" {
		return &Error{Key: "gwsUriPrefix", Problem: "is required: the URL prefix of the recordings web services, e.g. https://example.com/api/v2", Value: ""}
	}
	if err := c.checkInstances(getenv); err != nil {
		return err
	}
	if err := c.checkServe(); err != nil {
		return err
	}
	if err := c.checkProxy("awsProxyHost", "awsProxyPort", c.AWSProxyPort != 0); err != nil {
		return err
	}
	if err := c.checkGWSProxyPort(); err != nil {
		return err
	}
	if err := c.checkProxy("gwsProxyHost", "gwsProxyPort", c.GWSProxyPort != 0); err != nil {
		return err
	}
	if err := c.checkRetention(); err != nil {
		return err
	}
	if c.DownloadMode == "single" {
		c.NumThreads = 1
	}
	return nil
}

// checkGWSProxyPort takes the port written in gwsProxyHost when
// gwsProxyPort is not set, and refuses two different ports.
func (c *Config) checkGWSProxyPort() error {
	switch {
	case c.gwsURLPort == 0:
	case !c.has("gwsProxyPort"):
		c.GWSProxyPort = c.gwsURLPort
	case c.GWSProxyPort != c.gwsURLPort:
		return &Error{Key: "gwsProxyPort", Problem: fmt.Sprintf("differs from the port %d in gwsProxyHost", c.gwsURLPort), Value: c.Value("gwsProxyPort")}
	}
	return nil
}

// checkProxy requires a proxy host and its port together.
func (c *Config) checkProxy(hostKey, portKey string, havePort bool) error {
	switch {
	case c.has(hostKey) && !havePort:
		return &Error{Key: hostKey, Problem: "needs " + portKey, Value: c.Value(hostKey)}
	case c.has(portKey) && !c.has(hostKey):
		return &Error{Key: portKey, Problem: "needs " + hostKey, Value: c.Value(portKey)}
	}
	return nil
}

// checkInstances applies spec §5: totalRcbsInstances and rcbsInstanceId
// both, neither, or the total alone with JOB_COMPLETION_INDEX (a Kubernetes
// Indexed Job). A total of 1 alone needs no index.
func (c *Config) checkInstances(getenv func(string) string) error {
	total, id := c.has("totalRcbsInstances"), c.has("rcbsInstanceId")
	switch {
	case id && !total:
		return &Error{Key: "rcbsInstanceId", Problem: "needs totalRcbsInstances", Value: c.Value("rcbsInstanceId")}
	case total && !id && c.TotalInstances > 1:
		idx := strings.TrimSpace(getenv("JOB_COMPLETION_INDEX"))
		if idx == "" {
			return &Error{Key: "totalRcbsInstances", Problem: "needs rcbsInstanceId, or JOB_COMPLETION_INDEX in the environment", Value: c.Value("totalRcbsInstances")}
		}
		n, err := parseInt(idx, 0, c.TotalInstances-1)
		if err != nil {
			return &Error{Key: "JOB_COMPLETION_INDEX", Problem: fmt.Sprintf("must be an instance number from 0 to %d (totalRcbsInstances=%d)", c.TotalInstances-1, c.TotalInstances), Value: shown(idx)}
		}
		c.InstanceID = n
	case c.InstanceID >= c.TotalInstances:
		return &Error{Key: "rcbsInstanceId", Problem: fmt.Sprintf("must be less than totalRcbsInstances=%d", c.TotalInstances), Value: c.Value("rcbsInstanceId")}
	}
	return nil
}

func (c *Config) readEnv(getenv func(string) string) {
	c.GWSUsername = getenv("GWS_USERNAME")
	c.GWSPassword = Secret(getenv("GWS_PASSWORD"))
	c.AWSAccessKeyID = getenv("AWS_ACCESS_KEY_ID")
	c.AWSSecretAccessKey = Secret(getenv("AWS_SECRET_ACCESS_KEY"))
	c.AWSSessionToken = Secret(getenv("AWS_SESSION_TOKEN"))
	c.readServeEnv(getenv)
}

// warnings lists settings that are valid but probably not what was meant.
// They name keys and variables, never a credential's value.
func (c *Config) warnings(getenv func(string) string) []string {
	var w []string
	add := func(cond bool, format string, a ...any) {
		if cond {
			w = append(w, fmt.Sprintf(c.File+": "+format, a...))
		}
	}
	add(c.has("minDate") && c.has("minAge"), "minAge is ignored: minDate is set")
	add(c.has("maxDate") && c.has("maxAge"), "maxAge is ignored: maxDate is set")
	add(c.DownloadMode == "single" && c.has("numThreads"), "numThreads is ignored: downloadMode is single")
	add((getenv("GWS_USERNAME") == "") != (getenv("GWS_PASSWORD") == ""), "only one of GWS_USERNAME and GWS_PASSWORD is set in the environment")
	add(!c.MetadataOnly && (getenv("AWS_ACCESS_KEY_ID") == "") != (getenv("AWS_SECRET_ACCESS_KEY") == ""),
		"only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set in the environment")
	return w
}
