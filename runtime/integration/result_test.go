package integration

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var resultSeeds = []string{
	`{}`,
	`{"statusCode":200,"body":"hello"}`,
	` { "statusCode" : 404 , "body" : null , "isBase64Encoded" : false } `,
	`{"body":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}`,
	`{"body":"\ud83d"}`,
	`{"body":"\udc00\u0041"}`,
	`{"body":"aGk=","isBase64Encoded":true}`,
	`{"body":"AP8=","isBase64Encoded":true}`,
	`{"body":"!!","isBase64Encoded":true}`,
	`{"statusCode":200.0}`,
	`{"statusCode":1e2}`,
	`{"statusCode":99}`,
	`{"statusCode":"200"}`,
	`{"statusCode":-1}`,
	`{"body":"x","body":null}`,
	`{"headers":{"a":"b"},"body":"x"}`,
	`{"errorMessage":"boom"}`,
	"{\"body\":\"\xff\"}",
	`{"isBase64Encoded":"yes"}`,
	`{"body":1}`,
}

// TestParseSimpleResultCommonShapes checks that the common shapes take the
// fast path.
func TestParseSimpleResultCommonShapes(t *testing.T) {
	for _, raw := range []string{`{"statusCode":200,"body":"{\"ok\":true}"}`, `{"statusCode":200}`, `{"body":"x","isBase64Encoded":false}`} {
		if _, ok := parseSimpleResult([]byte(raw)); !ok {
			t.Errorf("parseSimpleResult(%s) fell back to encoding/json", raw)
		}
	}
}

func TestParseSimpleResultAgrees(t *testing.T) {
	for _, raw := range resultSeeds {
		t.Run(raw, func(t *testing.T) { checkSimpleAgrees(t, []byte(raw)) })
	}
}

// checkSimpleAgrees checks that whatever parseSimpleResult accepts,
// parseFullResult parses the same way.
func checkSimpleAgrees(t *testing.T, raw []byte) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return
	}
	fast, ok := parseSimpleResult(raw)
	if !ok {
		return
	}
	full, err := parseFullResult(raw)
	if err != nil {
		t.Fatalf("parseSimpleResult(%q) = %+v, but parseFullResult fails: %v", raw, fast, err)
	}
	if diff := cmp.Diff(full, fast); diff != "" {
		t.Errorf("parseSimpleResult(%q) disagrees with parseFullResult (-full +fast):\n%s", raw, diff)
	}
}

func FuzzParseLambdaResult(f *testing.F) {
	for _, s := range resultSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSimpleAgrees(t, raw)
		resp, err := parseLambdaResult(raw)
		if (resp == nil) == (err == nil) {
			t.Fatalf("parseLambdaResult(%q) = %v, %v; want exactly one", raw, resp, err)
		}
		if resp != nil && (resp.StatusCode < 100 || resp.StatusCode > 599) {
			t.Fatalf("parseLambdaResult(%q) status %d", raw, resp.StatusCode)
		}
	})
}
