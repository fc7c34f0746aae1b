package observe

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mapLookup(values map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := values[name]
		return v, ok
	}
}

// chatFormat is what examples/chat's jsonencode({...}) access_log format
// evaluates to.
const chatFormat = `{"connectionId":"$context.connectionId","eventType":"$context.eventType","requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status"}`

func TestFormatRT32(t *testing.T) {
	values := map[string]string{
		"requestId":              "req-1",
		"connectionId":           "conn=",
		"routeKey":               "$default",
		"eventType":              "MESSAGE",
		"status":                 "200",
		"identity.sourceIp":      "127.0.0.1",
		"authorizer.principalId": "user-7",
		"empty":                  "",
		"quote":                  `say "hi"\now`,
		"newline":                "a\nb\tc\x01",
		"error.message":          `Bad "request" body`,
		"invalid":                "a\xffb",
		"unicode":                "héllo ✓",
	}
	tests := []struct {
		name   string
		format string
		want   string
	}{
		{"plain", "$context.requestId $context.routeKey", "req-1 $default"},
		{"example chat JSON", chatFormat,
			`{"connectionId":"conn=","eventType":"MESSAGE","requestId":"req-1","routeKey":"$default","status":"200"}`},
		{"CLF-like", `$context.identity.sourceIp - - [x] "$context.eventType $context.routeKey" $context.status`,
			`127.0.0.1 - - [x] "MESSAGE $default" 200`},
		{"dotted names", "$context.identity.sourceIp/$context.authorizer.principalId", "127.0.0.1/user-7"},
		{"no value renders a dash", "[$context.error.message2] [$context.authorizer.claims.sub]", "[-] [-]"},
		{"empty value renders a dash", `{"e":"$context.empty"}`, `{"e":"-"}`},
		{"trailing dot is literal", "id=$context.requestId.", "id=req-1."},
		{"dot then non-name is literal", "$context.requestId.-x", "req-1.-x"},
		{"adjacent variables", "$context.requestId$context.status", "req-1200"},
		{"$context without name is literal", "$context. and $context and $contextual", "$context. and $context and $contextual"},
		{"quoted value escaped in a string", `{"q":"$context.quote"}`, `{"q":"say \"hi\"\\now"}`},
		{"quoted value raw outside a string", `q=$context.quote`, `q=say "hi"\now`},
		{"control characters escaped everywhere", `n=$context.newline "$context.newline"`, `n=a\nb\tc\u0001 "a\nb\tc\u0001"`},
		{"escaped quote in format keeps string state", `{"a\"b":"$context.quote"}`, `{"a\"b":"say \"hi\"\\now"}`},
		{"number outside quotes", `{"status":$context.status}`, `{"status":200}`},
		{"invalid UTF-8 replaced", `"$context.invalid"`, "\"a\ufffdb\""},
		{"unicode kept", `"$context.unicode"`, `"héllo ✓"`},
		{"messageString outside quotes", `{"err":$context.error.messageString}`, `{"err":"Bad \"request\" body"}`},
		{"messageString inside quotes", `"$context.error.messageString"`, `"\"Bad \"request\" body\""`},
		{"no variables", "static", "static"},
		{"empty format", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(CompileFormat(tt.format).Append(nil, mapLookup(values)))
			if got != tt.want {
				t.Errorf("RT-32: format %q\n got %s\nwant %s", tt.format, got, tt.want)
			}
		})
	}
}

func TestFormatMessageStringMissingRT32(t *testing.T) {
	got := string(CompileFormat(`{"err":$context.error.messageString}`).Append(nil, mapLookup(nil)))
	if want := `{"err":"-"}`; got != want {
		t.Errorf("RT-32: got %s, want %s", got, want)
	}
	// A lookup that knows messageString itself wins.
	got = string(CompileFormat(`$context.error.messageString`).Append(nil,
		mapLookup(map[string]string{"error.messageString": `"x"`})))
	if want := `"x"`; got != want {
		t.Errorf("RT-32: got %s, want %s", got, want)
	}
}

func TestFormatVariables(t *testing.T) {
	tests := []struct {
		format string
		want   []string
	}{
		{chatFormat, []string{"connectionId", "eventType", "requestId", "routeKey", "status"}},
		{"$context.identity.sourceIp. $context.a_b.c1", []string{"identity.sourceIp", "a_b.c1"}},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, CompileFormat(tt.format).Variables()); diff != "" {
				t.Errorf("variables (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzFormatJSON checks that a JSON format whose variables all sit in string
// values renders valid JSON that decodes to the values, whatever they are.
func FuzzFormatJSON(f *testing.F) {
	f.Add("plain", "req-1")
	f.Add(`quo"te\`, "\n\t\x00")
	f.Add("\xff\xfe", "✓")
	f.Add("", "$context.requestId")
	f.Fuzz(func(t *testing.T, a, b string) {
		format := CompileFormat(`{"a":"$context.a","b":"x $context.b y"}`)
		line := format.Append(nil, mapLookup(map[string]string{"a": a, "b": b}))
		var got map[string]string
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("RT-32: line %q is not JSON: %v", line, err)
		}
		want := func(v string) string {
			if v == "" {
				return NoValue
			}
			return string([]rune(v)) // invalid UTF-8 becomes U+FFFD, as JSON decoding does
		}
		if got["a"] != want(a) || got["b"] != "x "+want(b)+" y" {
			t.Fatalf("RT-32: decoded %q, want a=%q b=%q", got, want(a), want(b))
		}
	})
}

// BenchmarkAccessLogRender renders the chat example's JSON format into a
// reused buffer.
func BenchmarkAccessLogRender(b *testing.B) {
	format := CompileFormat(chatFormat)
	lookup := mapLookup(map[string]string{
		"requestId": "Zm9vYmFyYmF6cXV4", "connectionId": "Y29ubmVjdGlvbg=", "routeKey": "sendmessage",
		"eventType": "MESSAGE", "status": "200",
	})
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = format.Append(buf[:0], lookup)
	}
}
