// Package validation validates WebSocket messages against the JSON Schema
// draft 4 models of a deployment (SPEC RT-23, D-23, D-39).
//
// Compile compiles every model of a deployment once, when the gateway builds
// its routing table; ForRoute binds a route's model_selection_expression and
// request_models to the compiled models; the resulting RouteValidator runs
// for every message on that route, before any integration:
//
//   - the expression is evaluated on the message, and the model of the
//     resulting key is used, else the model of the "$default" key, else the
//     message fails ("no model" is a failure, RT-23);
//   - a message that is not exactly one JSON value fails (D-39);
//   - otherwise the decoded message is validated against the schema.
//
// Schemas are compiled with github.com/santhosh-tekuri/jsonschema/v6 exactly
// as config checks them at validate time (draft 4 by default, each model on
// its own, external references refused), so a model that passed validation
// compiles here. Messages are decoded with encoding/json and UseNumber, as
// the library requires for exact number handling (integers beyond 2^53,
// multipleOf). The benchmarks in bench_test.go separate decoding from
// validation, for a 1 KB chat message against a schema with nested objects,
// arrays, patterns and enums (medians of 5 runs on the 2-core development
// machine):
//
//	go test -run '^$' -bench . -benchmem -count 5 ./runtime/validation/
//
//	BenchmarkValidate1KB        23 µs   12.4 KB   202 allocs  decode + validate
//	BenchmarkRouteValidate1KB   25 µs   12.4 KB   202 allocs  + model selection
//	BenchmarkDecode1KB          11 µs    5.8 KB    78 allocs  decoding alone
//	BenchmarkSchemaOnly1KB      10 µs    6.6 KB   124 allocs  the library alone
//	BenchmarkDecode1KBFloat64   10 µs    3.4 KB    72 allocs  (not used)
//
// Decoding to float64 numbers with json.Unmarshal is no faster and only
// saves the decoder's buffer, at the price of wrong answers for integers
// beyond 2^53, so UseNumber it is.
//
// Errors are for logs, never for the client: the gateway answers every
// failure with the same "Bad request body" frame. An *Error names the model
// and gives a one-line reason; errors.Is tells ErrNotJSON and ErrNoModel
// apart from schema violations.
//
// The package depends on config/model, selection and the schema library
// only. It does no I/O (external schema references are refused), starts no
// goroutine, and its values are immutable after Compile and ForRoute, safe
// for concurrent use.
package validation
