package selection

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// awsPayload is the message of the route selection table in AWS's
// documentation ("WebSocket selection expressions"), SPEC RT-21.
const awsPayload = `{"service":"chat","action":"join","data":{"room":"room1234"}}`

func TestEvaluateAWSTable(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`$request.body.action`, `join`},
		{`${request.body.action}`, `join`},
		{`${request.body.service}/${request.body.action}`, `chat/join`},
		{`${request.body.action}-${request.body.invalidPath}`, `join-`},
		{`action`, `action`},
		{`\$default`, `$default`},
		{`$default`, `$default`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr, Body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, ok := e.Evaluate(nil, []byte(awsPayload))
			if !ok || string(got) != tt.want {
				t.Errorf("Evaluate = %q, %v; want %q, true", got, ok, tt.want)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		expr   string
		msg    string
		want   string
		wantOK bool
	}{
		{"string", `$request.body.a`, `{"a":"x"}`, `x`, true},
		{"escaped string", `$request.body.a`, `{"a":"\"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00"}`, "\"q\" \\ / \b\f\n\r\t é 😀", true},
		{"lone surrogate", `$request.body.a`, `{"a":"\ud83d x \u00C9"}`, "\uFFFD x É", true},
		{"low surrogate first", `$request.body.a`, `{"a":"\ude00\ud83d"}`, "\uFFFD\uFFFD", true},
		{"invalid utf-8 in string", `$request.body.a`, "{\"a\":\"x\xffy\"}", "x\uFFFDy", true},
		{"integer", `$request.body.a`, `{"a":42}`, `42`, true},
		{"number as written", `$request.body.a`, `{"a":-1.50e+3}`, `-1.50e+3`, true},
		{"true", `$request.body.a`, `{"a":true}`, `true`, true},
		{"false", `$request.body.a`, `{"a":false}`, `false`, true},
		{"null", `$request.body.a`, `{"a":null}`, `null`, true},
		{"array", `$request.body.a`, `{"a":["x", 1,true ,null]}`, `[x, 1, true, null]`, true},
		{"empty array", `$request.body.a`, `{"a":[ ]}`, `[]`, true},
		{"object", `$request.body.a`, `{"a":{"k":"v", "k2" : [1,{"z":2}]}}`, `{k=v, k2=[1, {z=2}]}`, true},
		{"empty object", `$request.body.a`, `{"a":{}}`, `{}`, true},
		{"object key order kept", `$request.body.a`, `{"a":{"z":1,"a":2}}`, `{z=1, a=2}`, true},
		{"missing", `$request.body.b`, `{"a":1}`, ``, true},
		{"missing below scalar", `$request.body.a.b`, `{"a":1}`, ``, true},
		{"nested", `$request.body.data.room`, awsPayload, `room1234`, true},
		{"index", `$request.body.a[1]`, `{"a":["x","y","z"]}`, `y`, true},
		{"index out of range", `$request.body.a[3]`, `{"a":["x","y","z"]}`, ``, true},
		{"index on object", `$request.body.a[0]`, `{"a":{"0":"x"}}`, ``, true},
		{"name on array", `$request.body.a['0']`, `{"a":["x"]}`, ``, true},
		{"nested index", `${request.body.a[1][0].b}`, `{"a":[[1],[{"b":"deep"}]]}`, `deep`, true},
		{"quoted name", `${request.body['a b'].c}`, `{"a b":{"c":"v"}}`, `v`, true},
		{"double quoted name", `${request.body["a.b"]}`, `{"a.b":"v","a":{"b":"w"}}`, `v`, true},
		{"escaped key in message", `$request.body.action`, `{"act\u0069on":"join"}`, `join`, true},
		{"non-ASCII name", `$request.body.émoji`, `{"\u00e9moji":"ok"}`, `ok`, true},
		{"name with backslash", `${request.body['a\\b']}`, `{"a\\b":"ok","a\b":"no"}`, `ok`, true},
		{"duplicate key last wins", `$request.body.a`, `{"a":"first","a":"second"}`, `second`, true},
		{"duplicate key replaces subtree", `$request.body.a.b`, `{"a":{"b":"first"},"a":{"c":1}}`, ``, true},
		{"duplicate key replaced by scalar", `$request.body.a.b`, `{"a":{"b":"first"},"a":5}`, ``, true},
		{"whole body", `$request.body`, ` {"a": [1, "x"]} `, `{a=[1, x]}`, true},
		{"whole body scalar", `$request.body`, `"hi"`, `hi`, true},
		{"top-level string has no members", `$request.body.a`, `"hi"`, ``, true},
		{"top-level array", `$request.body[0]`, `["first"]`, `first`, true},
		{"whitespace everywhere", `$request.body.a`, " \t\r\n{ \"a\" \n: \"x\" , \"b\":[ 1 , 2 ] }\n", `x`, true},
		{"several variables", `${request.body.a}:${request.body.b}:${request.body.a}`, `{"a":1,"b":"two"}`, `1:two:1`, true},
		{"variable then text", `$request.body.a/v1`, `{"a":"x"}`, `x/v1`, true},
		{"shared prefix", `${request.body.d.x}${request.body.d.y}${request.body.d}`, `{"d":{"x":"1","y":"2"}}`, `12{x=1, y=2}`, true},
		{"same path twice", `${request.body.a}${request.body.a}`, `{"a":"x","a":"y"}`, `yy`, true},
		{"escaped dollar text", `\$request.body.a`, `{"a":"x"}`, `$request.body.a`, true},

		{"not JSON", `$request.body.action`, `hello`, ``, false},
		{"empty message", `$request.body.action`, ``, ``, false},
		{"only whitespace", `$request.body.action`, `   `, ``, false},
		{"trailing garbage", `$request.body.action`, `{"action":"join"} x`, ``, false},
		{"two values", `$request.body.action`, `{} {}`, ``, false},
		{"garbage after key found", `$request.body.action`, `{"action":"join","x":}`, ``, false},
		{"unterminated object", `$request.body.action`, `{"action":"join"`, ``, false},
		{"unterminated string", `$request.body.action`, `{"action":"join`, ``, false},
		{"control character", `$request.body.action`, "{\"action\":\"jo\nin\"}", ``, false},
		{"bad escape", `$request.body.action`, `{"action":"\x41"}`, ``, false},
		{"short unicode escape", `$request.body.action`, `{"action":"\u12"}`, ``, false},
		{"leading zero", `$request.body.a`, `{"a":01}`, ``, false},
		{"bare minus", `$request.body.a`, `{"a":-}`, ``, false},
		{"dot without digits", `$request.body.a`, `{"a":1.}`, ``, false},
		{"exponent without digits", `$request.body.a`, `{"a":1e+}`, ``, false},
		{"trailing comma", `$request.body.a`, `{"a":1,}`, ``, false},
		{"trailing comma in array", `$request.body.a`, `{"a":[1,]}`, ``, false},
		{"single quotes", `$request.body.a`, `{'a':1}`, ``, false},
		{"bad literal", `$request.body.a`, `{"a":tru}`, ``, false},
		{"missing colon", `$request.body.a`, `{"a" 1}`, ``, false},
		{"non-JSON with text", `x-${request.body.a}`, `nope`, ``, false},

		{"static on non-JSON", `action`, `not json`, `action`, true},
		{"default on non-JSON", `$default`, `not json`, `$default`, true},
		{"empty static", ``, `not json`, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.expr, Body)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			dst := []byte("prefix:")
			got, ok := e.Evaluate(dst, []byte(tt.msg))
			want := "prefix:" + tt.want
			if string(got) != want || ok != tt.wantOK {
				t.Errorf("Evaluate(%q, %q) = %q, %v; want %q, %v", tt.expr, tt.msg, got, ok, want, tt.wantOK)
			}
		})
	}
}

func TestEvaluateNestingLimit(t *testing.T) {
	e, err := Parse(`$request.body`, Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		depth int
		ok    bool
	}{{maxDepth, true}, {maxDepth + 1, false}} {
		msg := strings.Repeat("[", tt.depth) + strings.Repeat("]", tt.depth)
		if _, ok := e.Evaluate(nil, []byte(msg)); ok != tt.ok {
			t.Errorf("depth %d: ok = %v, want %v", tt.depth, ok, tt.ok)
		}
	}
}

func TestEvaluateManyVariables(t *testing.T) {
	var expr, msg, want strings.Builder
	msg.WriteString("{")
	for i := range smallVars + 3 {
		name := string(rune('a' + i))
		expr.WriteString("${request.body." + name + "}.")
		if i > 0 {
			msg.WriteString(",")
		}
		msg.WriteString(`"` + name + `":"` + strings.ToUpper(name) + `"`)
		want.WriteString(strings.ToUpper(name) + ".")
	}
	msg.WriteString("}")
	e, err := Parse(expr.String(), Body)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := e.Evaluate(nil, []byte(msg.String()))
	if !ok || string(got) != want.String() {
		t.Errorf("Evaluate = %q, %v; want %q, true", got, ok, want.String())
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	e, err := Parse(`${request.body.service}/${request.body.action}`, Body)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(awsPayload)
	dst := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		dst, _ = e.Evaluate(dst[:0], msg)
	})
	if allocs != 0 {
		t.Errorf("Evaluate allocates %v times per run, want 0", allocs)
	}
}

func TestEvaluateAPIKey(t *testing.T) {
	h := http.Header{}
	h.Set("X-Api-Key", "key-from-header")
	h.Set("X-Other", "other")
	tests := []struct {
		expr string
		want string
	}{
		{`$request.header.x-api-key`, `key-from-header`},
		{`${request.header.X-API-KEY}`, `key-from-header`},
		{`$request.header.X-Other`, `other`},
		{`$request.header.x-missing`, ``},
		{`$context.authorizer.usageIdentifierKey`, `key-from-authorizer`},
		{`${context.authorizer.usageIdentifierKey}`, `key-from-authorizer`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr, APIKey)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var asked string
			got := e.EvaluateAPIKey(func(name string) string {
				asked = name
				return h.Get(name)
			}, "key-from-authorizer")
			if got != tt.want {
				t.Errorf("EvaluateAPIKey = %q, want %q", got, tt.want)
			}
			if asked != strings.ToLower(asked) {
				t.Errorf("header looked up as %q, want lower case", asked)
			}
			if want := strings.HasPrefix(tt.expr, "$context") || strings.HasPrefix(tt.expr, "${context"); e.UsesUsageIdentifierKey() != want {
				t.Errorf("UsesUsageIdentifierKey = %v, want %v", !want, want)
			}
		})
	}
}

func TestEvaluateConcurrently(t *testing.T) {
	e, err := Parse(`${request.body.service}/${request.body.data.room}`, Body)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(awsPayload)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			var dst []byte
			for range 1000 {
				var ok bool
				dst, ok = e.Evaluate(dst[:0], msg)
				if !ok || string(dst) != "chat/room1234" {
					errs <- string(dst)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent Evaluate = %q, want %q", got, "chat/room1234")
	}
}

// TestEvaluateValidityMatchesStdlib puts valid and invalid values where the
// scanner tracks a path and where it only skips, and checks that Evaluate's
// ok agrees with encoding/json.Valid everywhere.
func TestEvaluateValidityMatchesStdlib(t *testing.T) {
	values := []string{
		`1`, `-0`, `0.5e-7`, `"s"`, `"\u00e9\n"`, `true`, `false`, `null`, `[]`, `{}`, `[1,[2,{"a":[]}]]`,
		`{"k":{"l":"m"},"n":[null]}`, `{ "a" : 1 , "b" : [ 2 , 3 ] }`,
		`01`, `-`, `1.`, `.5`, `1e`, `+1`, `"abc`, `"\q"`, `"\u12G4"`, "\"a\x01\"", `tru`, `nul`, `falsy`,
		`[1,]`, `[,1]`, `[1 2]`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{a:1}`, `{"a":1 "b":2}`, `{"a" 1}`, `{`,
		`{"a":1]`, `[1}`, `{,}`,
	}
	templates := []string{
		`%s`,
		`{"x":%s,"action":"a"}`,
		`{"action":%s}`,
		`{"action":{"deep":%s}}`,
		`[%s]`,
		`[0,%s]`,
		`{"action":[%s]}`,
	}
	exprs := []string{`$request.body.action`, `$request.body.action.deep`, `$request.body[1]`, `$request.body.action[0]`, `$request.body`}
	for _, tmpl := range templates {
		for _, v := range values {
			msg := []byte(strings.Replace(tmpl, "%s", v, 1))
			for _, expr := range exprs {
				e, err := Parse(expr, Body)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := e.Evaluate(nil, msg); ok != json.Valid(msg) {
					t.Errorf("Evaluate(%q, %q) ok = %v, json.Valid = %v", expr, msg, ok, !ok)
				}
			}
		}
	}
}
