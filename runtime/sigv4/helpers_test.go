package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Test credentials: the first two are configured on every test verifier,
// stranger is not.
var (
	alice    = aws.Credentials{AccessKeyID: "AKIDALICE0000000000", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	bob      = aws.Credentials{AccessKeyID: "AKIDBOB000000000000", SecretAccessKey: "bob-secret/with+odd=chars"}
	stranger = aws.Credentials{AccessKeyID: "AKIDSTRANGER0000000", SecretAccessKey: "not-configured"}
)

// signedAt is when the test requests are signed.
var signedAt = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// newVerifier returns a verifier for alice and bob whose clock reads now.
func newVerifier(now time.Time) *Verifier {
	return New([]Credential{
		{AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey},
		{AccessKeyID: bob.AccessKeyID, SecretAccessKey: bob.SecretAccessKey},
	}, func() time.Time { return now })
}

// payloadHash is the hex SHA-256 of body, the payload hash the SDK signs.
func payloadHash(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// clientRequest builds a request as a client would before signing it.
func clientRequest(t testing.TB, method, rawURL string, body []byte, header http.Header) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = append([]string(nil), v...)
	}
	return req
}

// signHeader signs req in place with the real SDK signer (Authorization
// header form) for service and region at the time at.
func signHeader(t testing.TB, req *http.Request, body []byte, creds aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(body), service, region, at)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// presign returns a client request for the URL that the real SDK signer
// presigns from req, carrying the headers it says were signed.
func presign(t testing.TB, req *http.Request, creds aws.Credentials, service, region string, at time.Time) *http.Request {
	t.Helper()
	signedURL, signedHeaders, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payloadHash(nil), service, region, at)
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	out := clientRequest(t, req.Method, signedURL, nil, nil)
	for k, v := range signedHeaders {
		if k == "Host" {
			out.Host = v[0]
			continue
		}
		out.Header[k] = v
	}
	return out
}

// onServer returns req as net/http's server hands it to a handler, and its
// body: it is written in wire format and read back with http.ReadRequest,
// the parser the server uses.
func onServer(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatalf("write request: %v", err)
	}
	return parseWire(t, wire.Bytes())
}

// parseWire parses a request in wire format and reads its body.
func parseWire(t testing.TB, wire []byte) (*http.Request, []byte) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		t.Fatalf("read request: %v\n%s", err, wire)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return r, body
}

// wsHeader is the header of a WebSocket handshake.
func wsHeader() http.Header {
	return http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
}
