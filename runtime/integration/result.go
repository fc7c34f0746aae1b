package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// lambdaResult is a Lambda proxy result, or a function error.
type lambdaResult struct {
	StatusCode        json.RawMessage     `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              *string             `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	ErrorMessage      *string             `json:"errorMessage"`
	ErrorType         string              `json:"errorType"`
}

// invalidReply returns a KindInvalidReply error; the caller fills in the
// integration.
func invalidReply(msg string, err error) *Error {
	return &Error{Kind: KindInvalidReply, msg: msg, Err: err}
}

// parseLambdaResult reads a Lambda proxy result (RT-40, D-40):
//
//   - an empty reply or JSON null is status 200 without a body;
//   - a JSON object with errorMessage and neither statusCode nor body is a
//     function error;
//   - statusCode (a number, or a string of digits, 100..599) defaults to 200;
//   - headers and multiValueHeaders merge into one http.Header, a
//     multiValueHeaders entry winning over a headers entry of the same name;
//   - body absent or null means HasBody false; with isBase64Encoded it is
//     decoded, and Binary is set when the bytes are not valid UTF-8;
//   - anything else (not JSON, not an object, wrong member types, bad
//     base64) is an invalid reply.
func parseLambdaResult(raw []byte) (*Response, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return &Response{StatusCode: http.StatusOK}, nil
	}
	if raw[0] != '{' {
		return nil, invalidReply("the Lambda result is not a JSON object", nil)
	}
	if resp, ok := parseSimpleResult(raw); ok {
		return resp, nil
	}
	return parseFullResult(raw)
}

// parseFullResult parses a Lambda result object with encoding/json.
func parseFullResult(raw []byte) (*Response, *Error) {
	var r lambdaResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, invalidReply("the Lambda result is not a proxy result", err)
	}
	hasStatus := len(r.StatusCode) > 0 && string(r.StatusCode) != "null"
	if r.ErrorMessage != nil && !hasStatus && r.Body == nil {
		e := &Error{Kind: KindFunctionError, ErrorMessage: *r.ErrorMessage, ErrorType: r.ErrorType, msg: "the function failed"}
		if e.ErrorMessage != "" {
			e.msg += ": " + e.ErrorMessage
		}
		return nil, e
	}
	resp := &Response{StatusCode: http.StatusOK}
	if hasStatus {
		code, ok := parseStatusCode(r.StatusCode)
		if !ok {
			return nil, invalidReply("the Lambda result's statusCode "+string(r.StatusCode)+" is not an HTTP status", nil)
		}
		resp.StatusCode = code
	}
	if len(r.Headers) > 0 || len(r.MultiValueHeaders) > 0 {
		resp.Header = make(http.Header, len(r.Headers)+len(r.MultiValueHeaders))
		for k, vs := range r.MultiValueHeaders {
			for _, v := range vs {
				resp.Header.Add(k, v)
			}
		}
		for k, v := range r.Headers {
			if _, ok := resp.Header[http.CanonicalHeaderKey(k)]; !ok {
				resp.Header.Set(k, v)
			}
		}
	}
	if r.Body != nil {
		resp.HasBody = true
		if r.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*r.Body)
			if err != nil {
				return nil, invalidReply("the Lambda result's body is not base64", err)
			}
			resp.Body = b
			resp.Binary = !utf8.Valid(b)
		} else {
			resp.Body = []byte(*r.Body)
		}
	}
	return resp, nil
}

// parseStatusCode reads a statusCode member: a JSON integer or a string of
// digits, within 100..599.
func parseStatusCode(raw json.RawMessage) (int, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, false
	}
	return code, true
}

// functionErrorDetails extracts errorMessage and errorType from the body of a
// reply flagged with X-Amz-Function-Error; a body of another shape gives
// empty strings.
func functionErrorDetails(raw []byte) (message, errorType string) {
	var r struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return "", ""
		}
	}
	return r.ErrorMessage, r.ErrorType
}

// parseSimpleResult parses the common result shape without reflection: a
// valid JSON object whose members are only statusCode (an integer), body (a
// string or null) and isBase64Encoded (a boolean). ok is false for anything
// else, which parseFullResult then handles; for the shapes it accepts it
// gives the same Response as parseFullResult.
func parseSimpleResult(raw []byte) (resp *Response, ok bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	r := simpleResult{statusCode: http.StatusOK}
	i := skipSpace(raw, 1)
	if raw[i] == '}' {
		return &Response{StatusCode: http.StatusOK}, true
	}
	for {
		// raw is valid JSON, so raw[i] starts a member name.
		end := stringEnd(raw, i)
		key := raw[i+1 : end-1]
		i = skipSpace(raw, skipSpace(raw, end)+1) // past ':'
		var n int
		switch string(key) {
		case "statusCode":
			n, ok = r.setStatus(raw, i)
		case "body":
			n, ok = r.setBody(raw, i)
		case "isBase64Encoded":
			n, ok = r.setBase64(raw, i)
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
		i = skipSpace(raw, n)
		if raw[i] == '}' {
			break
		}
		i = skipSpace(raw, i+1) // past ','
	}
	resp = &Response{StatusCode: r.statusCode}
	if r.body == nil {
		return resp, true
	}
	resp.HasBody = true
	if !r.base64 {
		resp.Body = r.body
		return resp, true
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(r.body)))
	n, err := base64.StdEncoding.Decode(b, r.body)
	if err != nil {
		return nil, false
	}
	resp.Body = b[:n]
	resp.Binary = !utf8.Valid(resp.Body)
	return resp, true
}

// simpleResult collects the members parseSimpleResult accepts.
type simpleResult struct {
	statusCode int
	body       []byte
	base64     bool
}

// setStatus reads an integer statusCode at raw[i] and returns the offset
// after it.
func (r *simpleResult) setStatus(raw []byte, i int) (int, bool) {
	j := i
	for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
		j++
	}
	if j == i || j-i > 3 || j < len(raw) && (raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E') {
		return 0, false
	}
	code := 0
	for _, c := range raw[i:j] {
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return 0, false
	}
	r.statusCode = code
	return j, true
}

// setBody reads a string or null body at raw[i].
func (r *simpleResult) setBody(raw []byte, i int) (int, bool) {
	if raw[i] == 'n' {
		r.body = nil
		return i + len("null"), true
	}
	if raw[i] != '"' {
		return 0, false
	}
	end := stringEnd(raw, i)
	content := raw[i+1 : end-1]
	if !utf8.Valid(content) {
		return 0, false
	}
	// appendUnescaped decodes exactly as encoding/json does, lone
	// surrogates included (FuzzParseLambdaResult holds the two paths equal).
	r.body = appendUnescaped(make([]byte, 0, len(content)), content)
	return end, true
}

// setBase64 reads a boolean isBase64Encoded at raw[i].
func (r *simpleResult) setBase64(raw []byte, i int) (int, bool) {
	switch raw[i] {
	case 't':
		r.base64 = true
		return i + len("true"), true
	case 'f':
		r.base64 = false
		return i + len("false"), true
	}
	return 0, false
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the offset after the valid JSON string starting at
// raw[i].
func stringEnd(raw []byte, i int) int {
	for j := i + 1; ; j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// hex4 decodes four valid hex digits.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
