package sigv4

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Service is the only service name a signature may be scoped to.
const Service = "execute-api"

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxSkew is how far a header signature's X-Amz-Date may be from the
// verifier's clock, either way, and how far before its X-Amz-Date a
// presigned URL is already accepted.
const MaxSkew = 5 * time.Minute

// MaxExpires is the largest X-Amz-Expires of a presigned URL, in seconds
// (7 days).
const MaxExpires = 604800

// Errors returned by Verify, wrapped with the detail of what failed. Every
// one of them means the request must be refused with 403.
var (
	// ErrNotSigned means the request carries neither an Authorization header
	// nor a presigned query string.
	ErrNotSigned = errors.New("request is not signed")
	// ErrMalformed means the signature's fields are missing, repeated or not
	// in their format.
	ErrMalformed = errors.New("malformed signature")
	// ErrScope means the credential scope is well formed but not accepted:
	// another service, or a date that is not the signing time's.
	ErrScope = errors.New("credential scope not accepted")
	// ErrExpired means the signing time is outside the accepted window: a
	// header signature more than MaxSkew from now, or a presigned URL that
	// expired or is not valid yet.
	ErrExpired = errors.New("signature outside its validity period")
	// ErrUnknownKey means the access key id is not one of the verifier's
	// credentials.
	ErrUnknownKey = errors.New("unknown access key id")
	// ErrMismatch means the signature does not match the request.
	ErrMismatch = errors.New("signature does not match")
)

// Credential is one access key id and its secret, as a `credentials` block
// configures them.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Verifier checks SigV4 signatures against a fixed set of credentials. It
// is immutable and safe for concurrent use; build a new one when the
// credentials change.
type Verifier struct {
	secrets map[string]string
	// decoy is the secret used to compute a signature for an unknown access
	// key id, so that an unknown key costs the same time as a known one.
	decoy string
	now   func() time.Time
}

// New returns a Verifier that accepts signatures by creds. Entries with an
// empty access key id or secret are ignored; when an access key id appears
// twice, the first entry wins. now is the clock the signing time is checked
// against; nil means time.Now.
func New(creds []Credential, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{secrets: make(map[string]string, len(creds)), now: now, decoy: rand.Text()}
	for _, c := range creds {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			continue
		}
		if _, dup := v.secrets[c.AccessKeyID]; !dup {
			v.secrets[c.AccessKeyID] = c.SecretAccessKey
		}
	}
	return v
}

// Len returns the number of credentials the Verifier accepts signatures by.
func (v *Verifier) Len() int { return len(v.secrets) }

// signature is what Verify extracts from a request before computing the
// expected signature.
type signature struct {
	accessKeyID   string
	date          string // X-Amz-Date, 20060102T150405Z
	scope         string // DATE/REGION/SERVICE/aws4_request
	signedHeaders []string
	signature     []byte
	query         url.Values // the canonical query's pairs
}

// Verify checks that r is signed by one of the Verifier's credentials and
// returns the access key id that signed it. body is the complete request
// body (nil or empty when there is none); Verify does not read r.Body. r is
// a request as net/http's server hands it to a handler (RequestURI and Host
// set); for a request built with http.NewRequest, URL.EscapedPath stands in
// for the path as sent. The error wraps one of ErrNotSigned, ErrMalformed,
// ErrScope, ErrExpired, ErrUnknownKey or ErrMismatch and says what failed;
// it is meant for logs, the client only gets 403.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	sig, canonical, err := v.canonical(r, body)
	if err != nil {
		return "", err
	}
	secret, known := v.secrets[sig.accessKeyID]
	if !known {
		secret = v.decoy
	}
	expected := sign(secret, sig.date, sig.scope, canonical)
	if !known {
		return "", fmt.Errorf("%w: %q", ErrUnknownKey, clip(sig.accessKeyID))
	}
	if !hmac.Equal(expected, sig.signature) {
		return "", fmt.Errorf("%w for access key id %q", ErrMismatch, sig.accessKeyID)
	}
	return sig.accessKeyID, nil
}

// canonical parses the signature of r, checks its time, and returns it with
// the canonical request it must sign.
func (v *Verifier) canonical(r *http.Request, body []byte) (*signature, string, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("%w: query string does not parse: %v", ErrMalformed, err)
	}
	presigned := query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Signature") ||
		query.Has("X-Amz-Credential")
	authorization := r.Header.Values("Authorization")
	var sig *signature
	switch {
	case presigned && len(authorization) > 0:
		return nil, "", fmt.Errorf("%w: both an Authorization header and a presigned query string", ErrMalformed)
	case presigned:
		sig, err = v.parseQuery(query)
	case len(authorization) > 0:
		sig, err = v.parseHeader(r, authorization, query)
	default:
		return nil, "", ErrNotSigned
	}
	if err != nil {
		return nil, "", err
	}

	payloadHash := sha256.Sum256(body)
	payload := hex.EncodeToString(payloadHash[:])
	if vals := r.Header.Values("X-Amz-Content-Sha256"); len(vals) > 0 {
		if len(vals) != 1 || vals[0] != payload {
			return nil, "", fmt.Errorf("%w: X-Amz-Content-Sha256 is not the SHA-256 of the body", ErrMismatch)
		}
	}
	canonical, err := canonicalRequest(r, sig, payload)
	if err != nil {
		return nil, "", err
	}
	return sig, canonical, nil
}

// parseHeader reads the Authorization header form: the header, X-Amz-Date,
// and the clock-skew check.
func (v *Verifier) parseHeader(r *http.Request, authorization []string, query url.Values) (*signature, error) {
	if len(authorization) != 1 {
		return nil, fmt.Errorf("%w: %d Authorization headers", ErrMalformed, len(authorization))
	}
	algorithm, rest, _ := strings.Cut(authorization[0], " ")
	if algorithm != Algorithm {
		return nil, fmt.Errorf("%w: Authorization is not %s", ErrMalformed, Algorithm)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: Authorization component %q is not NAME=VALUE", ErrMalformed, clip(part))
		case name != "Credential" && name != "SignedHeaders" && name != "Signature":
			return nil, fmt.Errorf("%w: unknown Authorization component %q", ErrMalformed, clip(name))
		}
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("%w: Authorization component %s repeated", ErrMalformed, name)
		}
		fields[name] = value
	}
	for _, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if _, ok := fields[name]; !ok {
			return nil, fmt.Errorf("%w: Authorization has no %s", ErrMalformed, name)
		}
	}
	dates := r.Header.Values("X-Amz-Date")
	if len(dates) != 1 {
		return nil, fmt.Errorf("%w: want one X-Amz-Date header, have %d", ErrMalformed, len(dates))
	}
	sig := &signature{date: dates[0], query: query}
	signed, err := sig.parse(fields["Credential"], fields["SignedHeaders"], fields["Signature"])
	if err != nil {
		return nil, err
	}
	if !hasName(sig.signedHeaders, "x-amz-date") {
		return nil, fmt.Errorf("%w: x-amz-date is not a signed header", ErrMalformed)
	}
	if d := v.now().Sub(signed); d > MaxSkew || d < -MaxSkew {
		return nil, fmt.Errorf("%w: signed at %s, %s from the gateway's clock (at most %s)",
			ErrExpired, sig.date, d.Round(time.Second), MaxSkew)
	}
	return sig, nil
}

// parseQuery reads the presigned query string form and checks its expiry.
func (v *Verifier) parseQuery(query url.Values) (*signature, error) {
	get := func(name string) (string, error) {
		vals := query[name]
		if len(vals) != 1 {
			return "", fmt.Errorf("%w: want one %s query parameter, have %d", ErrMalformed, name, len(vals))
		}
		return vals[0], nil
	}
	var f [6]string
	for i, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
		"X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		var err error
		if f[i], err = get(name); err != nil {
			return nil, err
		}
	}
	if f[0] != Algorithm {
		return nil, fmt.Errorf("%w: X-Amz-Algorithm is not %s", ErrMalformed, Algorithm)
	}
	expires, err := parseExpires(f[3])
	if err != nil {
		return nil, err
	}
	canonicalQuery := make(url.Values, len(query))
	for k, vals := range query {
		if k != "X-Amz-Signature" {
			canonicalQuery[k] = vals
		}
	}
	sig := &signature{date: f[2], query: canonicalQuery}
	signed, err := sig.parse(f[1], f[4], f[5])
	if err != nil {
		return nil, err
	}
	now := v.now()
	if now.Before(signed.Add(-MaxSkew)) {
		return nil, fmt.Errorf("%w: presigned URL is dated %s, in the future", ErrExpired, sig.date)
	}
	if end := signed.Add(time.Duration(expires) * time.Second); now.After(end) {
		return nil, fmt.Errorf("%w: presigned URL expired at %s", ErrExpired, end.UTC().Format(time.RFC3339))
	}
	return sig, nil
}

// parseExpires parses X-Amz-Expires: whole seconds, 1 to MaxExpires.
func parseExpires(s string) (int, error) {
	if s == "" || len(s) > 7 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: X-Amz-Expires %q is not a number of seconds", ErrMalformed, clip(s))
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > MaxExpires {
		return 0, fmt.Errorf("%w: X-Amz-Expires %d is not between 1 and %d", ErrMalformed, n, MaxExpires)
	}
	return n, nil
}

// parse fills sig from the credential, signed headers and signature fields
// common to both forms, and returns the signing time. sig.date is already
// set.
func (sig *signature) parse(credential, signedHeaders, signature string) (time.Time, error) {
	signed, err := time.Parse("20060102T150405Z", sig.date)
	if err != nil || len(sig.date) != len("20060102T150405Z") {
		return time.Time{}, fmt.Errorf("%w: X-Amz-Date %q is not in the form 20060102T150405Z", ErrMalformed, clip(sig.date))
	}
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[4] != "aws4_request" {
		return time.Time{}, fmt.Errorf("%w: credential %q is not AKID/DATE/REGION/SERVICE/aws4_request", ErrMalformed, clip(credential))
	}
	if parts[3] != Service {
		return time.Time{}, fmt.Errorf("%w: signed for service %q, not %s", ErrScope, clip(parts[3]), Service)
	}
	if parts[1] != sig.date[:8] {
		return time.Time{}, fmt.Errorf("%w: credential date %q is not the date of X-Amz-Date %s", ErrScope, clip(parts[1]), sig.date)
	}
	sig.accessKeyID = parts[0]
	sig.scope = strings.Join(parts[1:], "/")

	if signedHeaders == "" {
		return time.Time{}, fmt.Errorf("%w: no signed headers", ErrMalformed)
	}
	sig.signedHeaders = strings.Split(signedHeaders, ";")
	for i, h := range sig.signedHeaders {
		if h == "" || h != strings.ToLower(h) || (i > 0 && h <= sig.signedHeaders[i-1]) {
			return time.Time{}, fmt.Errorf("%w: signed headers %q are not lowercase names in strictly ascending order", ErrMalformed, clip(signedHeaders))
		}
	}
	if !hasName(sig.signedHeaders, "host") {
		return time.Time{}, fmt.Errorf("%w: host is not a signed header", ErrMalformed)
	}

	if len(signature) != 2*sha256.Size || strings.ToLower(signature) != signature {
		return time.Time{}, fmt.Errorf("%w: signature is not %d lowercase hex digits", ErrMalformed, 2*sha256.Size)
	}
	if sig.signature, err = hex.DecodeString(signature); err != nil {
		return time.Time{}, fmt.Errorf("%w: signature is not %d lowercase hex digits", ErrMalformed, 2*sha256.Size)
	}
	return signed, nil
}

// hasName reports whether names contains name.
func hasName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// sign returns the signature of the canonical request: the string to sign
// (algorithm, date, scope, hashed canonical request) under the key derived
// from secret and the scope's date, region and service.
func sign(secret, date, scope, canonical string) []byte {
	parts := strings.Split(scope, "/") // DATE/REGION/SERVICE/aws4_request, checked by parse
	key := []byte("AWS4" + secret)
	for _, p := range parts {
		key = hmacSHA256(key, p)
	}
	hashed := sha256.Sum256([]byte(canonical))
	stringToSign := Algorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
	return hmacSHA256(key, stringToSign)
}

// hmacSHA256 returns HMAC-SHA256(key, data).
func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// clip shortens a client-supplied string for an error message.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
