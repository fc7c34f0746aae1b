package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// signedCase is a request signed by the real SDK signer that the verifier
// must accept.
type signedCase struct {
	name   string
	method string
	url    string
	body   []byte
	header http.Header
	creds  aws.Credentials
	region string
}

var headerCases = []signedCase{
	{name: "handshake GET with query", method: "GET",
		url:    "http://127.0.0.1:8080/orders/live?token=a%20b&x=2&x=1&empty=&plus=c+d&tilde=~x&slash=a/b&uni=%C3%A9",
		header: wsHeader(), creds: alice, region: "us-east-1"},
	{name: "handshake GET, no query, other region", method: "GET",
		url: "http://gw.example.com/orders/live", header: wsHeader(), creds: bob, region: "eu-central-1"},
	{name: "POST @connections with body and %3D id", method: "POST",
		url: "http://127.0.0.1:8080/prod/@connections/Zm9vYmFy%3D", body: []byte(`{"hello":"world"}`),
		header: http.Header{"Content-Type": {"application/json"}}, creds: alice, region: "us-west-2"},
	{name: "POST @connections under api and stage", method: "POST",
		url: "http://127.0.0.1:8080/orders/prod/@connections/a-b_c", body: []byte("plain text body"), creds: alice, region: "local"},
	{name: "POST @connections written %40", method: "POST",
		url: "http://127.0.0.1:8080/prod/%40connections/abc%3D%3D", body: []byte("x"), creds: alice, region: "us-east-1"},
	{name: "GET @connections", method: "GET",
		url: "http://127.0.0.1:8080/prod/@connections/abc%3D", creds: bob, region: "ap-southeast-2"},
	{name: "DELETE @connections", method: "DELETE",
		url: "http://127.0.0.1:8080/prod/@connections/abc%3D", creds: alice, region: "us-east-1"},
	{name: "non-ASCII path", method: "GET",
		url: "http://127.0.0.1:8080/prod/@connections/%C3%A9t%C3%A9", creds: alice, region: "us-east-1"},
	{name: "session token", method: "POST", url: "http://127.0.0.1:8080/prod/@connections/id1", body: []byte("hi"),
		creds:  aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey, SessionToken: "token/with+chars"},
		region: "us-east-1"},
	{name: "repeated header with excess spaces", method: "GET", url: "http://127.0.0.1:8080/orders/live",
		header: http.Header{"X-Custom": {"  a   b  ", "c"}, "X-Other": {"d\te"}}, creds: alice, region: "us-east-1"},
	{name: "default port stripped by the signer", method: "GET", url: "http://gw.example.com:80/orders/live",
		creds: alice, region: "us-east-1"},
}

// TestVerifyHeaderSignedBySDK: requests signed by aws-sdk-go-v2's SignHTTP
// verify and name their access key (RT-2, RT-52).
func TestVerifyHeaderSignedBySDK(t *testing.T) {
	for _, c := range headerCases {
		t.Run(c.name, func(t *testing.T) {
			req := clientRequest(t, c.method, c.url, c.body, c.header)
			signHeader(t, req, c.body, c.creds, Service, c.region, signedAt)
			r, body := onServer(t, req)
			id, err := newVerifier(signedAt).Verify(r, body)
			if err != nil {
				t.Fatalf("RT-2: Verify = %v, want success", err)
			}
			if id != c.creds.AccessKeyID {
				t.Errorf("RT-2: access key id = %q, want %q", id, c.creds.AccessKeyID)
			}
		})
	}
}

// TestVerifyPresignedBySDK: handshake URLs presigned by aws-sdk-go-v2's
// PresignHTTP verify (RT-52).
func TestVerifyPresignedBySDK(t *testing.T) {
	cases := []struct {
		name  string
		url   string
		creds aws.Credentials
	}{
		{"plain", "http://127.0.0.1:8080/orders/live?X-Amz-Expires=300", alice},
		{"with query", "http://127.0.0.1:8080/orders/live?token=a%20b&x=2&x=1&X-Amz-Expires=604800", bob},
		{"session token", "http://gw.example.com/orders/live?X-Amz-Expires=60",
			aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey, SessionToken: "tok"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := presign(t, clientRequest(t, "GET", c.url, nil, nil), c.creds, Service, "us-east-1", signedAt)
			for k, v := range wsHeader() { // added by the browser, not signed
				req.Header[k] = v
			}
			r, body := onServer(t, req)
			for _, now := range []time.Time{signedAt.Add(-MaxSkew), signedAt, signedAt.Add(59 * time.Second)} {
				id, err := newVerifier(now).Verify(r, body)
				if err != nil {
					t.Fatalf("RT-52: Verify at %s = %v, want success", now, err)
				}
				if id != c.creds.AccessKeyID {
					t.Errorf("RT-52: access key id = %q, want %q", id, c.creds.AccessKeyID)
				}
			}
		})
	}
}

// TestVerifyUnsignedHeadersIgnored: headers and hops that the signature
// does not cover may change (proxies add them) without failing.
func TestVerifyUnsignedHeadersIgnored(t *testing.T) {
	req := clientRequest(t, "POST", "http://127.0.0.1:8080/prod/@connections/abc%3D", []byte("m"), nil)
	signHeader(t, req, []byte("m"), alice, Service, "us-east-1", signedAt)
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("User-Agent", "changed")
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-abc")
	r, body := onServer(t, req)
	if _, err := newVerifier(signedAt).Verify(r, body); err != nil {
		t.Fatalf("RT-2: Verify = %v, want success", err)
	}
}

// mutation changes a signed server-side request; body may be replaced.
type mutation struct {
	name   string
	mutate func(r *http.Request, body *[]byte)
	want   error
}

func setRequestURI(r *http.Request, uri string) {
	r.RequestURI = uri
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		panic(err)
	}
	r.URL = u
}

// TestVerifyTamperedHeaderForm: any change to what the signature covers is
// refused (RT-2: 403), with the error saying why.
func TestVerifyTamperedHeaderForm(t *testing.T) {
	const target = "/prod/@connections/abc%3D?b=2&a=1"
	body := []byte(`{"n":1}`)
	cases := []mutation{
		{"method", func(r *http.Request, _ *[]byte) { r.Method = "PUT" }, ErrMismatch},
		{"path", func(r *http.Request, _ *[]byte) { setRequestURI(r, "/prod/@connections/abd%3D?b=2&a=1") }, ErrMismatch},
		{"path decoded id", func(r *http.Request, _ *[]byte) { setRequestURI(r, "/prod/@connections/abc=?b=2&a=1") }, ErrMismatch},
		{"path stage", func(r *http.Request, _ *[]byte) { setRequestURI(r, "/dev/@connections/abc%3D?b=2&a=1") }, ErrMismatch},
		{"query value", func(r *http.Request, _ *[]byte) { setRequestURI(r, "/prod/@connections/abc%3D?b=3&a=1") }, ErrMismatch},
		{"query added", func(r *http.Request, _ *[]byte) { setRequestURI(r, target+"&c=1") }, ErrMismatch},
		{"query removed", func(r *http.Request, _ *[]byte) { setRequestURI(r, "/prod/@connections/abc%3D?b=2") }, ErrMismatch},
		{"query malformed", func(r *http.Request, _ *[]byte) { setRequestURI(r, target+"&c=%zz") }, ErrMalformed},
		{"signed header value", func(r *http.Request, _ *[]byte) { r.Header.Set("Content-Type", "text/plain") }, ErrMismatch},
		{"signed header removed", func(r *http.Request, _ *[]byte) { r.Header.Del("Content-Type") }, ErrMismatch},
		{"signed header repeated", func(r *http.Request, _ *[]byte) { r.Header.Add("Content-Type", "x") }, ErrMismatch},
		{"host", func(r *http.Request, _ *[]byte) { r.Host = "evil.example.com" }, ErrMismatch},
		{"x-amz-date one second later", func(r *http.Request, _ *[]byte) {
			r.Header.Set("X-Amz-Date", signedAt.Add(time.Second).Format("20060102T150405Z"))
		}, ErrMismatch},
		{"body", func(_ *http.Request, b *[]byte) { *b = []byte(`{"n":2}`) }, ErrMismatch},
		{"body emptied", func(r *http.Request, b *[]byte) { *b = nil }, ErrMismatch},
		{"content sha256 not the body's", func(r *http.Request, _ *[]byte) {
			r.Header.Set("X-Amz-Content-Sha256", payloadHash([]byte("other")))
		}, ErrMismatch},
		{"unsigned payload", func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, ErrMismatch},
		{"signature digit", func(r *http.Request, _ *[]byte) { editAuth(r, flipLastHexDigit) }, ErrMismatch},
		{"signature uppercase", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string {
				i := strings.Index(s, "Signature=") + len("Signature=")
				return s[:i] + strings.ToUpper(s[i:])
			})
		}, ErrMalformed},
		{"signature short", func(r *http.Request, _ *[]byte) { editAuth(r, func(s string) string { return s[:len(s)-2] }) }, ErrMalformed},
		{"other known key", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, alice.AccessKeyID, bob.AccessKeyID, 1) })
		}, ErrMismatch},
		{"unknown key", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, alice.AccessKeyID, stranger.AccessKeyID, 1) })
		}, ErrUnknownKey},
		{"host not signed", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, "host;", "", 1) })
		}, ErrMalformed},
		{"x-amz-date not signed", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, ";x-amz-date", "", 1) })
		}, ErrMalformed},
		{"signed headers unsorted", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string {
				return strings.Replace(s, "content-length;content-type", "content-type;content-length", 1)
			})
		}, ErrMalformed},
		{"region changed", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, "/us-east-1/", "/us-east-2/", 1) })
		}, ErrMismatch},
		{"service changed", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, "/execute-api/", "/s3/", 1) })
		}, ErrScope},
		{"scope date not the signing date", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, "/20250314/", "/20250313/", 1) })
		}, ErrScope},
		{"scope terminator", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, "/aws4_request", "/aws4_requesx", 1) })
		}, ErrMalformed},
		{"component repeated", func(r *http.Request, _ *[]byte) { editAuth(r, func(s string) string { return s + ", Signature=00" }) }, ErrMalformed},
		{"component unknown", func(r *http.Request, _ *[]byte) { editAuth(r, func(s string) string { return s + ", Extra=1" }) }, ErrMalformed},
		{"other algorithm", func(r *http.Request, _ *[]byte) {
			editAuth(r, func(s string) string { return strings.Replace(s, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1) })
		}, ErrMalformed},
		{"bearer token", func(r *http.Request, _ *[]byte) { r.Header.Set("Authorization", "Bearer abc") }, ErrMalformed},
		{"two Authorization headers", func(r *http.Request, _ *[]byte) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, ErrMalformed},
		{"no Authorization", func(r *http.Request, _ *[]byte) { r.Header.Del("Authorization") }, ErrNotSigned},
		{"no X-Amz-Date", func(r *http.Request, _ *[]byte) { r.Header.Del("X-Amz-Date") }, ErrMalformed},
		{"X-Amz-Date malformed", func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Date", "2025-03-14T15:09:26Z") }, ErrMalformed},
		{"presigned query added", func(r *http.Request, _ *[]byte) { setRequestURI(r, target+"&X-Amz-Signature=00") }, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := clientRequest(t, "POST", "http://127.0.0.1:8080"+target, body,
				http.Header{"Content-Type": {"application/json"}})
			signHeader(t, req, body, alice, Service, "us-east-1", signedAt)
			r, b := onServer(t, req)
			if _, err := newVerifier(signedAt).Verify(r, b); err != nil {
				t.Fatalf("untampered request: Verify = %v", err)
			}
			c.mutate(r, &b)
			_, err := newVerifier(signedAt).Verify(r, b)
			if !errors.Is(err, c.want) {
				t.Fatalf("RT-2: tampered (%s): Verify = %v, want %v", c.name, err, c.want)
			}
		})
	}
}

// editAuth rewrites the Authorization header.
func editAuth(r *http.Request, edit func(string) string) {
	r.Header.Set("Authorization", edit(r.Header.Get("Authorization")))
}

// flipLastHexDigit changes the last hex digit of s to another hex digit.
func flipLastHexDigit(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}

// TestVerifyTime: header signatures are accepted within MaxSkew of the
// verifier's clock, either way, and refused outside it (RT-52).
func TestVerifyTime(t *testing.T) {
	req := clientRequest(t, "GET", "http://127.0.0.1:8080/orders/live", nil, wsHeader())
	signHeader(t, req, nil, alice, Service, "us-east-1", signedAt)
	r, body := onServer(t, req)
	cases := []struct {
		name string
		now  time.Time
		want error
	}{
		{"exactly 5 minutes later", signedAt.Add(MaxSkew), nil},
		{"exactly 5 minutes earlier", signedAt.Add(-MaxSkew), nil},
		{"5 minutes 1 second later", signedAt.Add(MaxSkew + time.Second), ErrExpired},
		{"5 minutes 1 second earlier", signedAt.Add(-MaxSkew - time.Second), ErrExpired},
		{"a day later", signedAt.Add(24 * time.Hour), ErrExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := newVerifier(c.now).Verify(r, body)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("RT-52: Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// TestVerifyPresignedRefused: presigned URLs outside their validity, with
// a bad expiry, tampered, or combined with a header signature are refused.
func TestVerifyPresignedRefused(t *testing.T) {
	cases := []struct {
		name   string
		url    string
		now    time.Time
		mutate func(r *http.Request)
		want   error
	}{
		{name: "at expiry", url: "/orders/live?X-Amz-Expires=60", now: signedAt.Add(60 * time.Second)},
		{name: "expired", url: "/orders/live?X-Amz-Expires=60", now: signedAt.Add(61 * time.Second), want: ErrExpired},
		{name: "not yet valid", url: "/orders/live?X-Amz-Expires=60", now: signedAt.Add(-MaxSkew - time.Second), want: ErrExpired},
		{name: "expires too long", url: "/orders/live?X-Amz-Expires=604801", now: signedAt, want: ErrMalformed},
		{name: "expires zero", url: "/orders/live?X-Amz-Expires=0", now: signedAt, want: ErrMalformed},
		{name: "expires negative", url: "/orders/live?X-Amz-Expires=-5", now: signedAt, want: ErrMalformed},
		{name: "expires missing", url: "/orders/live", now: signedAt, want: ErrMalformed},
		{name: "query value tampered", url: "/orders/live?token=a&X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) { replaceQuery(r, "token=a", "token=b") }, want: ErrMismatch},
		{name: "expiry extended", url: "/orders/live?X-Amz-Expires=60", now: signedAt.Add(2 * time.Minute),
			mutate: func(r *http.Request) { replaceQuery(r, "X-Amz-Expires=60", "X-Amz-Expires=600") }, want: ErrMismatch},
		{name: "path tampered", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) { r.RequestURI = strings.Replace(r.RequestURI, "/live", "/dead", 1) }, want: ErrMismatch},
		{name: "signature tampered", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) {
				i := strings.Index(r.URL.RawQuery, "X-Amz-Signature=") + len("X-Amz-Signature=")
				sig := r.URL.RawQuery[i : i+64]
				replaceQuery(r, sig, flipLastHexDigit(sig))
			}, want: ErrMismatch},
		{name: "signature repeated", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Signature=00" }, want: ErrMalformed},
		{name: "algorithm", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) {
				replaceQuery(r, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1")
			}, want: ErrMalformed},
		{name: "credential missing", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Credential")
				r.URL.RawQuery = q.Encode()
			}, want: ErrMalformed},
		{name: "Authorization header too", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 x") }, want: ErrMalformed},
		{name: "unsigned header added", url: "/orders/live?X-Amz-Expires=60", now: signedAt,
			mutate: func(r *http.Request) { r.Header.Set("X-Anything", "1") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := presign(t, clientRequest(t, "GET", "http://127.0.0.1:8080"+c.url, nil, nil), alice, Service, "eu-west-1", signedAt)
			r, body := onServer(t, req)
			if c.mutate != nil {
				c.mutate(r)
			}
			_, err := newVerifier(c.now).Verify(r, body)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("RT-52: Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// replaceQuery replaces old with new in the raw query (and RequestURI).
func replaceQuery(r *http.Request, old, new string) {
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, old, new, 1)
	r.RequestURI = strings.Replace(r.RequestURI, old, new, 1)
}

// TestVerifyScopeAndKeys: the credential scope must name execute-api; the
// key must be configured; the region may be any (RT-52).
func TestVerifyScopeAndKeys(t *testing.T) {
	cases := []struct {
		name    string
		creds   aws.Credentials
		service string
		region  string
		want    error
	}{
		{"any region", alice, Service, "mars-north-7", nil},
		{"service s3", alice, "s3", "us-east-1", ErrScope},
		{"service execute-api-x", alice, "execute-api-x", "us-east-1", ErrScope},
		{"unknown key", stranger, Service, "us-east-1", ErrUnknownKey},
		{"known id, wrong secret", aws.Credentials{AccessKeyID: bob.AccessKeyID, SecretAccessKey: alice.SecretAccessKey}, Service, "us-east-1", ErrMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := clientRequest(t, "GET", "http://127.0.0.1:8080/prod/@connections/x", nil, nil)
			signHeader(t, req, nil, c.creds, c.service, c.region, signedAt)
			r, body := onServer(t, req)
			id, err := newVerifier(signedAt).Verify(r, body)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("RT-52: Verify = %q, %v, want %v", id, err, c.want)
			}
			if err != nil && id != "" {
				t.Errorf("RT-52: failed Verify returned access key id %q", id)
			}
		})
	}
}

// TestVerifyErrorsKeepSecrets: no error message contains a secret.
func TestVerifyErrorsKeepSecrets(t *testing.T) {
	req := clientRequest(t, "GET", "http://127.0.0.1:8080/prod/@connections/x", nil, nil)
	signHeader(t, req, nil, aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: bob.SecretAccessKey}, Service, "us-east-1", signedAt)
	r, body := onServer(t, req)
	_, err := newVerifier(signedAt).Verify(r, body)
	if err == nil {
		t.Fatal("Verify succeeded with the wrong secret")
	}
	for _, secret := range []string{alice.SecretAccessKey, bob.SecretAccessKey} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}

// TestNew: empty entries are ignored and the first of two entries for one
// access key id wins.
func TestNew(t *testing.T) {
	v := New([]Credential{
		{AccessKeyID: "", SecretAccessKey: "s"},
		{AccessKeyID: "A", SecretAccessKey: ""},
		{AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey},
		{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "second"},
	}, func() time.Time { return signedAt })
	if v.Len() != 1 {
		t.Fatalf("Len = %d, want 1", v.Len())
	}
	req := clientRequest(t, "GET", "http://h/x", nil, nil)
	signHeader(t, req, nil, alice, Service, "us-east-1", signedAt)
	r, body := onServer(t, req)
	if _, err := v.Verify(r, body); err != nil {
		t.Fatalf("first entry: Verify = %v", err)
	}
	if New(nil, nil).now == nil {
		t.Fatal("New(nil, nil) has no clock")
	}
}

// TestVerifyClientSideRequest: a request built by http.NewRequest (no
// RequestURI) is verified from URL.EscapedPath.
func TestVerifyClientSideRequest(t *testing.T) {
	req := clientRequest(t, "POST", "http://127.0.0.1:8080/prod/@connections/abc%3D", []byte("m"), nil)
	signHeader(t, req, []byte("m"), alice, Service, "us-east-1", signedAt)
	if _, err := newVerifier(signedAt).Verify(req, []byte("m")); err != nil {
		t.Fatalf("Verify = %v", err)
	}
}

// BenchmarkVerify measures verifying a signed @connections POST.
//
//	go test -run '^$' -bench Verify -benchmem ./runtime/sigv4/
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"message":"hello"}`)
	req := clientRequest(b, "POST", "http://127.0.0.1:8080/prod/@connections/Zm9vYmFy%3D", body,
		http.Header{"Content-Type": {"application/json"}})
	signHeader(b, req, body, alice, Service, "us-east-1", signedAt)
	r, body := onServer(b, req)
	v := newVerifier(signedAt)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
