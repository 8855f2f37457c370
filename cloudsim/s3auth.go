package cloudsim

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sigV4 checks AWS Signature Version 4 on the simulated S3 the way real S3
// does, so that a wrong secret fails here as it fails in production
// (spec §10). It recomputes the signature from the request as received —
// header (Authorization) and query (presigned URL) forms — over the payload
// hash the client declared: UNSIGNED-PAYLOAD, a hex sha256, or a
// STREAMING-* seed (chunk signatures are not checked; rcbs only GETs).
// Immutable after construction; safe for concurrent use.
type sigV4 struct {
	access, secret string
	now            func() time.Time
}

// maxSkew is real S3's limit between the signer's clock and the server's.
const maxSkew = 15 * time.Minute

// s3AuthError is one of S3's authentication refusals.
type s3AuthError struct {
	code, message string
}

func (e *s3AuthError) Error() string { return e.code + ": " + e.message }

// sigParts is what a request says about its own signature.
type sigParts struct {
	access, date, region, service string
	signedHeaders                 []string
	signature, amzDate            string
	payloadHash                   string
	presigned                     bool
	expires                       int64 // presigned: X-Amz-Expires, seconds
}

// check returns nil when r is signed with the simulator's credentials.
func (v sigV4) check(r *http.Request) *s3AuthError {
	p, err := parseSig(r)
	if err != nil {
		return err
	}
	if p.access != v.access {
		return &s3AuthError{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."}
	}
	t, perr := time.Parse("20060102T150405Z", p.amzDate)
	if perr != nil || !strings.HasPrefix(p.amzDate, p.date) {
		return &s3AuthError{"AccessDenied", "X-Amz-Date is missing or malformed."}
	}
	if err := v.checkTime(t, p); err != nil {
		return err
	}
	scope := p.date + "/" + p.region + "/" + p.service + "/aws4_request"
	canonical := canonicalRequest(r, p)
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + p.amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + v.secret)
	for _, part := range []string{p.date, p.region, p.service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(p.signature)) {
		return &s3AuthError{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	}
	return nil
}

// checkTime refuses a signature from a clock more than maxSkew off, and a
// presigned URL past its X-Amz-Expires.
func (v sigV4) checkTime(signed time.Time, p sigParts) *s3AuthError {
	age := v.now().Sub(signed)
	if p.presigned {
		if age > time.Duration(p.expires)*time.Second {
			return &s3AuthError{"AccessDenied", "Request has expired"}
		}
		age = min(age, 0)
	}
	if age > maxSkew || age < -maxSkew {
		return &s3AuthError{"RequestTimeTooSkewed", "The difference between the request time and the current time is too large."}
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// parseSig reads the signature from the Authorization header or, for a
// presigned URL, from the query.
func parseSig(r *http.Request) (sigParts, *s3AuthError) {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "" {
		p := sigParts{presigned: true, signature: q.Get("X-Amz-Signature"), amzDate: q.Get("X-Amz-Date"),
			signedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), payloadHash: "UNSIGNED-PAYLOAD"}
		if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
			return p, &s3AuthError{"AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"."}
		}
		exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
		if err != nil || exp < 1 || exp > 604800 {
			return p, &s3AuthError{"AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to 604800."}
		}
		p.expires = exp
		return p, p.scope(q.Get("X-Amz-Credential"))
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return sigParts{}, &s3AuthError{"AccessDenied", "Access Denied"}
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigParts{}, &s3AuthError{"InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."}
	}
	p := sigParts{amzDate: r.Header.Get("X-Amz-Date"), payloadHash: r.Header.Get("X-Amz-Content-Sha256")}
	var cred string
	for _, field := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			p.signedHeaders = strings.Split(val, ";")
		case "Signature":
			p.signature = val
		}
	}
	if p.payloadHash == "" {
		return p, &s3AuthError{"InvalidRequest", "Missing required header for this request: x-amz-content-sha256"}
	}
	return p, p.scope(cred)
}

// scope fills access key, date, region and service from a credential
// "AKID/20260102/us-east-1/s3/aws4_request".
func (p *sigParts) scope(cred string) *s3AuthError {
	f := strings.Split(cred, "/")
	if len(f) != 5 || f[4] != "aws4_request" || p.signature == "" || len(p.signedHeaders) == 0 {
		return &s3AuthError{"AuthorizationHeaderMalformed", fmt.Sprintf("The authorization header is malformed; the Credential is mal-formed (got %q).", cred)}
	}
	p.access, p.date, p.region, p.service = f[0], f[1], f[2], f[3]
	return nil
}

// canonicalRequest builds SigV4's canonical request for S3: the path as
// sent (S3 does not escape it twice), the sorted query, the signed headers.
func canonicalRequest(r *http.Request, p sigParts) string {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" || strings.HasPrefix(path, "http") { // an absolute-form URI (proxy style)
		path = r.URL.EscapedPath()
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n" + path + "\n" + canonicalQuery(r.URL.Query(), p.presigned) + "\n")
	for _, h := range p.signedHeaders {
		b.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	b.WriteString("\n" + strings.Join(p.signedHeaders, ";") + "\n" + p.payloadHash)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	if name == "host" {
		return r.Host
	}
	vals := r.Header.Values(name)
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalQuery sorts the encoded parameters by name, then value (not as
// "name=value" strings: "a-b" must sort after "a").
func canonicalQuery(q url.Values, presigned bool) string {
	var pairs [][2]string
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, [2]string{awsEscape(k), awsEscape(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	out := make([]string, len(pairs))
	for i, kv := range pairs {
		out[i] = kv[0] + "=" + kv[1]
	}
	return strings.Join(out, "&")
}

// awsEscape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is
// percent-encoded, space as %20.
func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// writeAuthError answers as S3 does: 403 with the XML error document.
func writeAuthError(w http.ResponseWriter, r *http.Request, e *s3AuthError) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>SIMULATED</RequestId></Error>`,
		e.code, e.message, xmlEscape(r.URL.Path))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
