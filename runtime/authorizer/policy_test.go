package authorizer

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const testARN = "arn:aws:execute-api:local:000000000000:abc123/live/$connect"

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", testARN, true},
		{testARN, testARN, true},
		{"arn:aws:execute-api:local:000000000000:abc123/live/$CONNECT", testARN, false},
		{"ARN:aws:execute-api:local:000000000000:abc123/live/$connect", testARN, false},
		{"arn:aws:execute-api:*:*:abc123/live/$connect", testARN, true},
		{"arn:aws:execute-api:*:*:abc123/*/$connect", testARN, true},
		{"arn:aws:execute-api:*:*:abc123/*", testARN, true},
		{"arn:aws:execute-api:*", testARN, true},
		{"arn:aws:execute-api:local:000000000000:abc123/test/*", testARN, false},
		{"arn:aws:execute-api:local:000000000000:abc123/liv?/$connect", testARN, true},
		{"arn:aws:execute-api:local:000000000000:abc123/li?/$connect", testARN, false},
		{"arn:aws:execute-api:local:000000000000:abc123/live/$connec?", testARN, true},
		{"arn:aws:execute-api:local:000000000000:abc123/live/$connect?", testARN, false},
		{"arn:aws:execute-api:local:000000000000:abc123/live/$connect*", testARN, true},
		{"*$connect", testARN, true},
		{"*$disconnect", testARN, false},
		{"**/live/**", testARN, true},
		{"*/*/*", testARN, true},
		{"*/*/*/*", testARN, false},
		{"?", "é", true},
		{"??", "é", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*a", strings.Repeat("a", 1000) + "b", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false},
		{"?", "\xff", true},
		{"x\xffy", "x\xffy", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"|"+tt.s, func(t *testing.T) {
			if got := Match(tt.pattern, tt.s); got != tt.want {
				t.Errorf("D-45: Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func stmt(effect string, action, resource []string) Statement {
	return Statement{Effect: effect, Action: action, Resource: resource}
}

func TestEvaluatePolicy(t *testing.T) {
	invoke := []string{"execute-api:Invoke"}
	arn := []string{testARN}
	tests := []struct {
		name string
		doc  PolicyDocument
		want Effect
	}{
		{"empty policy", PolicyDocument{}, NoMatch},
		{"exact allow", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, arn)}}, Allow},
		{"action execute-api:*", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"execute-api:*"}, arn)}}, Allow},
		{"action *", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"*"}, arn)}}, Allow},
		{"action case-insensitive", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"Execute-API:invoke"}, arn)}}, Allow},
		{"action Kelvin sign is not k", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"execute-api:Invo\u212ae"}, arn)}}, NoMatch},
		{"action with ?", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"execute-api:Invok?"}, arn)}}, Allow},
		{"other action", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"execute-api:ManageConnections"}, arn)}}, NoMatch},
		{"other service", PolicyDocument{Statement: []Statement{stmt("Allow", []string{"lambda:*"}, arn)}}, NoMatch},
		{"no action", PolicyDocument{Statement: []Statement{stmt("Allow", nil, arn)}}, NoMatch},
		{"no resource", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, nil)}}, NoMatch},
		{"resource *", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, []string{"*"})}}, Allow},
		{"resource stage wildcard", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, []string{"arn:aws:execute-api:local:000000000000:abc123/*/$connect"})}}, Allow},
		{"resource other stage", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, []string{"arn:aws:execute-api:local:000000000000:abc123/test/$connect"})}}, NoMatch},
		{"resource other api", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, []string{"arn:aws:execute-api:local:000000000000:zzz999/*"})}}, NoMatch},
		{"resource case differs", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, []string{"arn:aws:execute-api:local:000000000000:ABC123/live/$connect"})}}, NoMatch},
		{"second resource matches", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, []string{"arn:aws:s3:::bucket", testARN})}}, Allow},
		{"deny only", PolicyDocument{Statement: []Statement{stmt("Deny", invoke, arn)}}, Deny},
		{"deny after allow wins", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, arn), stmt("Deny", invoke, arn)}}, Deny},
		{"deny before allow wins", PolicyDocument{Statement: []Statement{stmt("Deny", []string{"*"}, []string{"*"}), stmt("Allow", invoke, arn)}}, Deny},
		{"deny by wildcard wins", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, arn), stmt("Deny", []string{"execute-api:*"}, []string{"arn:aws:execute-api:*:*:*/live/*"})}}, Deny},
		{"deny elsewhere does not", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, arn), stmt("Deny", invoke, []string{"arn:aws:execute-api:*:*:*/test/*"})}}, Allow},
		{"deny of other action does not", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, arn), stmt("Deny", []string{"execute-api:ManageConnections"}, arn)}}, Allow},
		{"lower-case effect ignored", PolicyDocument{Statement: []Statement{stmt("allow", invoke, arn)}}, NoMatch},
		{"lower-case deny ignored", PolicyDocument{Statement: []Statement{stmt("Allow", invoke, arn), stmt("deny", invoke, arn)}}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EvaluatePolicy(tt.doc, testARN); got != tt.want {
				t.Errorf("D-45: EvaluatePolicy = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPolicyDocumentJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    PolicyDocument
		wantErr bool
	}{
		{
			name: "lists",
			json: `{"Version":"2012-10-17","Statement":[{"Action":["a","b"],"Effect":"Allow","Resource":["r1","r2"]}]}`,
			want: PolicyDocument{Version: "2012-10-17", Statement: []Statement{{Effect: "Allow", Action: StringList{"a", "b"}, Resource: StringList{"r1", "r2"}}}},
		},
		{
			name: "strings",
			json: `{"Version":"2012-10-17","Statement":[{"Action":"a","Effect":"Deny","Resource":"r"}]}`,
			want: PolicyDocument{Version: "2012-10-17", Statement: []Statement{{Effect: "Deny", Action: StringList{"a"}, Resource: StringList{"r"}}}},
		},
		{
			name: "one statement object",
			json: `{"Statement":{"Action":"a","Effect":"Allow","Resource":"r"}}`,
			want: PolicyDocument{Statement: []Statement{{Effect: "Allow", Action: StringList{"a"}, Resource: StringList{"r"}}}},
		},
		{
			name: "null statement",
			json: `{"Version":"2012-10-17","Statement":null}`,
			want: PolicyDocument{Version: "2012-10-17"},
		},
		{name: "action number", json: `{"Statement":[{"Action":1,"Effect":"Allow","Resource":"r"}]}`, wantErr: true},
		{name: "resource list of numbers", json: `{"Statement":[{"Action":"a","Effect":"Allow","Resource":[1]}]}`, wantErr: true},
		{name: "statement string", json: `{"Statement":"x"}`, wantErr: true},
		{name: "not an object", json: `[1]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got PolicyDocument
			err := json.Unmarshal([]byte(tt.json), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("RT-50: Unmarshal(%s) = %+v, want an error", tt.json, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("RT-50: Unmarshal(%s): %v", tt.json, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RT-50: policy document (-want +got):\n%s", diff)
			}
		})
	}
}

// globRegexp translates a wildcard pattern into an anchored regexp, the
// reference Match is checked against.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

// asciiLower lowers ASCII letters only, as IAM action matching does here.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// referenceEvaluate is EvaluatePolicy written the slow, obvious way.
func referenceEvaluate(doc PolicyDocument, arn string) Effect {
	result := NoMatch
	for _, st := range doc.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			continue
		}
		action := false
		for _, a := range st.Action {
			action = action || globRegexp(asciiLower(a)).MatchString("execute-api:invoke")
		}
		resource := false
		for _, r := range st.Resource {
			resource = resource || globRegexp(r).MatchString(arn)
		}
		if !action || !resource {
			continue
		}
		if st.Effect == "Deny" {
			return Deny
		}
		result = Allow
	}
	return result
}

// checkable reports whether every string of doc and arn is valid UTF-8
// and short enough for the regexp reference.
func checkable(doc PolicyDocument, arn string) bool {
	total := len(arn)
	ok := utf8.ValidString(arn)
	for _, st := range doc.Statement {
		for _, s := range append(append([]string{st.Effect}, st.Action...), st.Resource...) {
			total += len(s)
			ok = ok && utf8.ValidString(s)
		}
	}
	return ok && total < 2000
}

func FuzzEvaluatePolicy(f *testing.F) {
	seeds := []struct{ policy, arn string }{
		{`{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + testARN + `"}]}`, testARN},
		{`{"Statement":[{"Action":["execute-api:*"],"Effect":"Allow","Resource":["arn:aws:execute-api:*:*:*/live/*"]},{"Action":"*","Effect":"Deny","Resource":"*/test/*"}]}`, testARN},
		{`{"Statement":{"Action":"*","Effect":"Deny","Resource":"*"}}`, testARN},
		{`{"Statement":[{"Action":"execute-api:Inv?ke","Effect":"Allow","Resource":"arn:aws:execute-api:local:000000000000:abc123/liv?/$connect"}]}`, testARN},
		{`{"Statement":[{"Action":"EXECUTE-API:INVOKE","Effect":"allow","Resource":"*"}]}`, "arn:aws:execute-api:eu-west-1:123456789012:x/y/$connect"},
		{`{"Statement":[{"Action":"*","Effect":"Allow","Resource":"***?***"}]}`, ""},
		{`{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*é?"}]}`, "aéb"},
		{`{"Statement":[]}`, testARN},
		{`not json`, testARN},
	}
	for _, s := range seeds {
		f.Add(s.policy, s.arn)
	}
	f.Fuzz(func(t *testing.T, policy, arn string) {
		var doc PolicyDocument
		_ = json.Unmarshal([]byte(policy), &doc) // a partial document is fine
		got := EvaluatePolicy(doc, arn)

		if checkable(doc, arn) {
			if want := referenceEvaluate(doc, arn); got != want {
				t.Fatalf("D-45: EvaluatePolicy(%+v, %q) = %v, reference says %v", doc, arn, got, want)
			}
		}

		hasDeny := false
		for _, st := range doc.Statement {
			hasDeny = hasDeny || st.Effect == "Deny"
		}
		if !hasDeny && got == Deny {
			t.Fatalf("D-45: EvaluatePolicy(%+v, %q) = Deny without a Deny statement", doc, arn)
		}

		// An explicit Deny that matches the ARN wins, wherever it is.
		denies := []Statement{
			stmt("Deny", []string{"execute-api:Invoke"}, []string{arn}),
			stmt("Deny", []string{"*"}, []string{"*"}),
			stmt("Deny", []string{"execute-api:*"}, []string{"other", arn + "*"}),
		}
		for _, deny := range denies {
			first := PolicyDocument{Statement: append([]Statement{deny}, doc.Statement...)}
			last := PolicyDocument{Statement: append(append([]Statement(nil), doc.Statement...), deny)}
			if e := EvaluatePolicy(first, arn); e != Deny {
				t.Fatalf("D-45: a matching Deny first gave %v for %q", e, arn)
			}
			if e := EvaluatePolicy(last, arn); e != Deny {
				t.Fatalf("D-45: a matching Deny last gave %v for %q", e, arn)
			}
		}

		// Every pattern matches itself, since '*' and '?' also match
		// themselves.
		if !Match(arn, arn) {
			t.Fatalf("D-45: Match(%q, itself) = false", arn)
		}
	})
}

func BenchmarkEvaluatePolicy(b *testing.B) {
	doc := PolicyDocument{Statement: []Statement{
		stmt("Allow", []string{"execute-api:Invoke"}, []string{"arn:aws:execute-api:*:*:abc123/*/$connect"}),
		stmt("Deny", []string{"execute-api:*"}, []string{"arn:aws:execute-api:*:*:abc123/test/*"}),
	}}
	b.ReportAllocs()
	for b.Loop() {
		if EvaluatePolicy(doc, testARN) != Allow {
			b.Fatal("not allowed")
		}
	}
}
