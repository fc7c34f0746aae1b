package selection

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		expr      string
		kind      Kind
		isDefault bool
		isStatic  bool
		// paths lists each variable's path, steps joined by "|", "#N" for
		// indexes; header variables are "header:NAME", the authorizer key is
		// "usageIdentifierKey".
		paths []string
		// lits lists the static segments in order.
		lits []string
	}{
		{expr: `$request.body.action`, paths: []string{"action"}},
		{expr: `${request.body.action}`, paths: []string{"action"}},
		{expr: `$request.body`, paths: []string{""}},
		{expr: `${request.body}`, paths: []string{""}},
		{expr: `$request.body.a.b-c.d_e.0`, paths: []string{"a|b-c|d_e|0"}},
		{expr: `$request.body.a[0][12]`, paths: []string{"a|#0|#12"}},
		{expr: `$request.body['a b']["c'd"]`, paths: []string{"a b|c'd"}},
		{expr: `${request.body['a}b']}`, paths: []string{"a}b"}},
		{expr: `${request.body['it\'s']}`, paths: []string{"it's"}},
		{expr: `$request.body[0]`, paths: []string{"#0"}},
		{expr: `${request.body.service}/${request.body.action}`, paths: []string{"service", "action"}, lits: []string{"/"}},
		{expr: `${request.body.action}-${request.body.invalidPath}`, paths: []string{"action", "invalidPath"}, lits: []string{"-"}},
		{expr: `$request.body.action/x`, paths: []string{"action"}, lits: []string{"/x"}},
		{expr: `v-$request.body.a:$request.body.b`, paths: []string{"a", "b"}, lits: []string{"v-", ":"}},
		{expr: `${request.body.version}-beta`, paths: []string{"version"}, lits: []string{"-beta"}},
		{expr: `$request.body.émoji`, paths: []string{"émoji"}},
		{expr: `action`, isStatic: true, lits: []string{"action"}},
		{expr: ``, isStatic: true},
		{expr: `$default`, isDefault: true, isStatic: true, lits: []string{"$default"}},
		{expr: `\$default`, isDefault: true, isStatic: true, lits: []string{"$default"}},
		{expr: `\$defaults`, isStatic: true, lits: []string{"$defaults"}},
		{expr: `a\$b\c`, isStatic: true, lits: []string{`a$b\c`}},
		{expr: `price \$${request.body.amount}`, paths: []string{"amount"}, lits: []string{"price $"}},
		{expr: `a}b{`, isStatic: true, lits: []string{"a}b{"}},

		{expr: `$request.header.x-api-key`, kind: APIKey, paths: []string{"header:x-api-key"}},
		{expr: `$request.header.X-Api-Key`, kind: APIKey, paths: []string{"header:x-api-key"}},
		{expr: `${request.header.x.custom}`, kind: APIKey, paths: []string{"header:x.custom"}},
		{expr: `$context.authorizer.usageIdentifierKey`, kind: APIKey, paths: []string{"usageIdentifierKey"}},
		{expr: `${context.authorizer.usageIdentifierKey}`, kind: APIKey, paths: []string{"usageIdentifierKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"/"+tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr, tt.kind)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if e.String() != tt.expr {
				t.Errorf("String() = %q, want %q", e.String(), tt.expr)
			}
			if e.Kind() != tt.kind {
				t.Errorf("Kind() = %v, want %v", e.Kind(), tt.kind)
			}
			if e.IsDefault() != tt.isDefault {
				t.Errorf("IsDefault() = %v, want %v", e.IsDefault(), tt.isDefault)
			}
			if e.IsStatic() != tt.isStatic {
				t.Errorf("IsStatic() = %v, want %v", e.IsStatic(), tt.isStatic)
			}
			var paths, lits []string
			for _, s := range e.segs {
				if s.v < 0 {
					lits = append(lits, s.lit)
					continue
				}
				paths = append(paths, describeVar(e.vars[s.v]))
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.lits, lits); diff != "" {
				t.Errorf("static text (-want +got):\n%s", diff)
			}
		})
	}
}

func describeVar(v variable) string {
	switch v.root {
	case rootHeader:
		return "header:" + v.header
	case rootUsageIdentifierKey:
		return "usageIdentifierKey"
	}
	var parts []string
	for _, st := range v.path {
		if st.isIndex {
			parts = append(parts, "#"+strconv.Itoa(st.index))
		} else {
			parts = append(parts, st.name)
		}
	}
	return strings.Join(parts, "|")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		kind Kind
		// bad is the text the error must point at.
		bad string
		// badAt is the offset of bad, when bad occurs more than once.
		badAt int
		// msg is a substring of the message.
		msg string
	}{
		{expr: `${request.body.action`, bad: `${request.body.action`, msg: "not terminated"},
		{expr: `x-${request.body.a}-${request.body.b`, bad: `${request.body.b`, msg: "not terminated"},
		{expr: `${request.body['a}`, bad: `${request.body['a}`, msg: "not terminated"},
		{expr: `${}`, bad: `${}`, msg: "empty"},
		{expr: `$`, bad: `$`, msg: "empty"},
		{expr: `a$`, bad: `$`, msg: "empty"},
		{expr: `$.action`, bad: `$.`, msg: "empty"},
		{expr: `$ x`, bad: `$`, msg: `\$`},
		{expr: `${ request.body.a}`, bad: ` `, msg: "start of the variable"},
		{expr: `$context.x`, bad: `$context.x`, msg: "$request.body.PATH"},
		{expr: `${context.authorizer.usageIdentifierKey}`, bad: `${context.authorizer.usageIdentifierKey}`, msg: "$request.body.PATH"},
		{expr: `$request.header.x-api-key`, bad: `$request.header.x-api-key`, msg: "$request.body.PATH"},
		{expr: `a/$request.header.x/b`, bad: `$request.header.x`, msg: "$request.body.PATH"},
		{expr: `${request.header.x}`, bad: `${request.header.x}`, msg: "$request.body.PATH"},
		{expr: `$request.bodyx`, bad: `$request.bodyx`, msg: "not allowed"},
		{expr: `$request`, bad: `$request`, msg: "not allowed"},
		{expr: `$stageVariables.x`, bad: `$stageVariables.x`, msg: "not allowed"},
		{expr: `a$default`, bad: `$default`, msg: `\$default`},
		{expr: `$request.body.a..b`, bad: `..`, msg: "Recursive descent"},
		{expr: `$request.body..a`, bad: `..`, msg: "Recursive descent"},
		{expr: `$request.body.*`, bad: `.*`, msg: "Wildcards"},
		{expr: `$request.body.a[*]`, bad: `[*]`, msg: "Wildcards"},
		{expr: `$request.body.a[?(@.x)]`, bad: `[?(@.x)]`, msg: "Filters"},
		{expr: `$request.body.a[-1]`, bad: `[-1]`, msg: "Negative"},
		{expr: `$request.body.a[1:2]`, bad: `[1:`, msg: "array index"},
		{expr: `$request.body.a[x]`, bad: `[x]`, msg: "Unsupported bracket"},
		{expr: `$request.body.a[`, bad: `[`, msg: "not closed"},
		{expr: `$request.body.a['x`, bad: `['x`, msg: "not terminated"},
		{expr: `$request.body.a['x'`, bad: `['x'`, msg: "followed by ]"},
		{expr: `$request.body.a[99999999999999999999]`, bad: `99999999999999999999`, msg: "too large"},
		{expr: `$request.body.a.`, bad: `.`, badAt: 15, msg: "ends with a dot"},
		{expr: `$request.body.a./x`, bad: `./`, msg: "followed by a name"},
		{expr: `${request.body.a b}`, bad: ` `, msg: "Unexpected ' '"},
		{expr: `${request.body.a.}`, bad: `.}`, msg: "followed by a name"},
		{expr: "bad \xff", bad: "\xff", msg: "UTF-8"},

		{expr: `$request.body.action`, kind: APIKey, bad: `$request.body.action`, msg: "$request.header.NAME"},
		{expr: `${request.body}`, kind: APIKey, bad: `${request.body}`, msg: "$request.header.NAME"},
		{expr: `$context.authorizer.other`, kind: APIKey, bad: `$context.authorizer.other`, msg: "usageIdentifierKey"},
		{expr: `$request.header.`, kind: APIKey, bad: `$request.header.`, msg: "not allowed"},
		{expr: `key`, kind: APIKey, bad: `key`, msg: "exactly"},
		{expr: `k-$request.header.x`, kind: APIKey, bad: `k-$request.header.x`, msg: "exactly"},
		{expr: `$request.header.a$request.header.b`, kind: APIKey, bad: `$request.header.a$request.header.b`, msg: "exactly"},
		{expr: `$default`, kind: APIKey, bad: `$default`, msg: "exactly"},
		{expr: `${request.header.x`, kind: APIKey, bad: `${request.header.x`, msg: "not terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"/"+tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr, tt.kind)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want a *ParseError", tt.expr, err)
			}
			off := tt.badAt
			if off == 0 {
				off = strings.Index(tt.expr, tt.bad)
			}
			if pe.Offset != off || pe.End != off+len(tt.bad) {
				t.Errorf("error points at %d-%d %q, want %d-%d %q (%s)", pe.Offset, pe.End, tt.expr[pe.Offset:pe.End], off, off+len(tt.bad), tt.bad, pe.Message)
			}
			if !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", pe.Message, tt.msg)
			}
			if !strings.HasSuffix(pe.Message, ".") || pe.Message[0] < 'A' || pe.Message[0] > 'Z' {
				t.Errorf("Message = %q, want a sentence", pe.Message)
			}
			if pe.Expr != tt.expr || !strings.Contains(pe.Error(), pe.Message) {
				t.Errorf("Error() = %q, Expr = %q", pe.Error(), pe.Expr)
			}
		})
	}
}

func TestParseEmptyAPIKey(t *testing.T) {
	_, err := Parse("", APIKey)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Offset != 0 || pe.End != 0 {
		t.Fatalf("Parse(\"\", APIKey) error = %#v, want a *ParseError at 0-0", err)
	}
}

func TestParseUnknownKind(t *testing.T) {
	if _, err := Parse("x", Kind(7)); err == nil {
		t.Fatal("Parse with an unknown kind succeeded")
	}
}

func TestParseTooManyVariables(t *testing.T) {
	expr := strings.Repeat("$request.body.a/", MaxVariables) + "$request.body.b"
	_, err := Parse(expr, Body)
	var pe *ParseError
	if !errors.As(err, &pe) || expr[pe.Offset:pe.End] != "$request.body.b" {
		t.Fatalf("Parse error = %v, want one pointing at the last variable", err)
	}
	if _, err := Parse(strings.Repeat("$request.body.a/", MaxVariables), Body); err != nil {
		t.Fatalf("Parse with %d variables: %v", MaxVariables, err)
	}
}

func TestParseBodyPath(t *testing.T) {
	tests := []struct {
		path string
		msg  string
		want string
	}{
		{".room", awsPayload, ""},
		{".data.room", awsPayload, "room1234"},
		{"['data']['room']", awsPayload, "room1234"},
		{"", `{"a":1}`, "{a=1}"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e, err := ParseBodyPath(tt.path)
			if err != nil {
				t.Fatalf("ParseBodyPath: %v", err)
			}
			got, ok := e.Evaluate(nil, []byte(tt.msg))
			if !ok || string(got) != tt.want {
				t.Errorf("Evaluate = %q, %v; want %q, true", got, ok, tt.want)
			}
		})
	}
	for _, bad := range []string{"room", ".a/b", ".a[*]", "\xff"} {
		t.Run("error/"+bad, func(t *testing.T) {
			_, err := ParseBodyPath(bad)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.End <= pe.Offset || pe.End > len(bad) {
				t.Fatalf("ParseBodyPath(%q) error = %v, want a *ParseError inside the path", bad, err)
			}
		})
	}
}
