package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
)

// sdkSigned collects the canonical requests that the real SDK signer
// signed, read from its signing log.
type sdkSigned struct {
	mu        sync.Mutex
	canonical map[string]bool
}

// logf is a logging.LoggerFunc: the signer logs the canonical request as
// the first argument of its "Request Signature" message.
func (s *sdkSigned) logf(_ logging.Classification, _ string, v ...any) {
	if len(v) == 0 {
		return
	}
	if c, ok := v[0].(string); ok {
		s.mu.Lock()
		s.canonical[c] = true
		s.mu.Unlock()
	}
}

func (s *sdkSigned) has(c string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.canonical[c]
}

// fuzzSeeds returns requests in wire format signed by the real SDK signer
// (both forms) at signedAt, and records the canonical requests it signed.
func fuzzSeeds(t testing.TB, signed *sdkSigned) [][]byte {
	logOpt := func(o *v4.SignerOptions) {
		o.LogSigning = true
		o.Logger = logging.LoggerFunc(signed.logf)
	}
	var seeds [][]byte
	wire := func(req *http.Request) {
		var b bytes.Buffer
		if err := req.Write(&b); err != nil {
			t.Fatalf("write request: %v", err)
		}
		seeds = append(seeds, b.Bytes())
	}
	for _, c := range headerCases {
		req := clientRequest(t, c.method, c.url, c.body, c.header)
		if err := v4.NewSigner(logOpt).SignHTTP(context.Background(), c.creds, req, payloadHash(c.body), Service, c.region, signedAt); err != nil {
			t.Fatalf("sign: %v", err)
		}
		wire(req)
	}
	for _, u := range []string{
		"http://127.0.0.1:8080/orders/live?X-Amz-Expires=300",
		"http://127.0.0.1:8080/orders/live?token=a%20b&x=2&x=1&X-Amz-Expires=60",
	} {
		req := clientRequest(t, "GET", u, nil, wsHeader())
		signedURL, hdr, err := v4.NewSigner(logOpt).PresignHTTP(context.Background(), alice, req, payloadHash(nil), Service, "us-east-1", signedAt)
		if err != nil {
			t.Fatalf("presign: %v", err)
		}
		out := clientRequest(t, "GET", signedURL, nil, wsHeader())
		out.Host = hdr.Get("Host")
		wire(out)
	}
	return seeds
}

// FuzzVerify: Verify never panics, and it accepts a request only when the
// request's canonical form is one that the real SDK signer signed with a
// configured key: a fuzzed request may differ from a signed one only in
// what the signature does not cover.
func FuzzVerify(f *testing.F) {
	signed := &sdkSigned{canonical: map[string]bool{}}
	for _, s := range fuzzSeeds(f, signed) {
		f.Add(s)
	}
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00\r\n\r\n"))
	f.Add([]byte("GET /?X-Amz-Signature=&X-Amz-Credential=%2F%2F%2F%2F HTTP/1.1\r\nHost: x\r\n\r\n"))
	v := newVerifier(signedAt)
	f.Fuzz(func(t *testing.T, wire []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
		if err != nil {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			return
		}
		id, err := v.Verify(r, body)
		if err != nil {
			if id != "" {
				t.Fatalf("failed Verify returned access key id %q", id)
			}
			return
		}
		_, canonical, cerr := v.canonical(r, body)
		if cerr != nil {
			t.Fatalf("Verify succeeded but canonical failed: %v", cerr)
		}
		if !signed.has(canonical) {
			t.Fatalf("Verify accepted a request the SDK did not sign:\n%s", canonical)
		}
		if id != alice.AccessKeyID && id != bob.AccessKeyID {
			t.Fatalf("Verify returned access key id %q", id)
		}
	})
}

// TestFuzzSeedsVerify: every signed fuzz seed verifies, so that the fuzz
// target starts from accepted requests.
func TestFuzzSeedsVerify(t *testing.T) {
	signed := &sdkSigned{canonical: map[string]bool{}}
	v := newVerifier(signedAt)
	for i, s := range fuzzSeeds(t, signed) {
		r, body := parseWire(t, s)
		if _, err := v.Verify(r, body); err != nil {
			t.Errorf("seed %d: Verify = %v", i, err)
			continue
		}
		_, canonical, _ := v.canonical(r, body)
		if !signed.has(canonical) {
			t.Errorf("seed %d: canonical request differs from the SDK's:\n%s", i, canonical)
		}
	}
}
