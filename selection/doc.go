// Package selection parses and evaluates API Gateway selection expressions:
// route_selection_expression, template_selection_expression,
// model_selection_expression (all of Kind Body) and
// api_key_selection_expression (Kind APIKey).
//
// The syntax is AWS's (SPEC CFG-1, D-25, D-38): variables written
// $request.body.PATH or ${request.body.PATH}, any number of them with static
// text between, plain static text, and $default or \$default for the literal
// key "$default". A backslash before a dollar sign makes the dollar literal.
// PATH is a restricted JSONPath: dot names (letters, digits, '_' and '-'),
// ['name'] or ["name"], and [N]; $request.body alone is the whole message.
// Filters, wildcards, slices and recursive descent are rejected by Parse.
// API key expressions are exactly one of $request.header.NAME (NAME is
// matched case-insensitively) or $context.authorizer.usageIdentifierKey.
//
// Parse runs once, at configuration load time (config uses it to report
// malformed expressions as diagnostics, using the byte offsets of ParseError),
// and when the runtime compiles its routing table. The resulting *Expr is
// immutable and safe for concurrent use.
//
// Evaluate runs for every WebSocket message, so it works on the raw bytes:
// a hand-written scanner validates the whole message as JSON and locates
// every variable's value in a single pass, without allocating and without
// encoding/json. A message that is not exactly one well-formed JSON value (the
// same rule as encoding/json.Valid, including its nesting limit) makes the
// expression not evaluable, and the runtime then uses the $default route.
// Values are rendered per D-38: strings unquoted and unescaped, numbers and
// literals as written, arrays as [a, b], objects as {k=v, k2=v2}, and a
// missing path as the empty string. The benchmarks in bench_test.go measure
// this against an encoding/json baseline:
//
//	go test -run '^$' -bench . -benchmem ./selection/
//
// The package imports only the standard library. It must not import any other
// package of this module: config and runtime both depend on it, and runtime
// may not depend on config. It performs no I/O and keeps no global state.
package selection
