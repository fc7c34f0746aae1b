package integration

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Kind classifies why an integration call failed.
type Kind int

// Kinds of integration failure.
const (
	// KindUnreachable means no answer could be obtained: the connection was
	// refused or dropped, DNS failed, or TLS failed (D-39 "no connection").
	KindUnreachable Kind = iota + 1
	// KindTimeout means the integration's own timeout_ms elapsed (RT-44).
	KindTimeout
	// KindFunctionError means a Lambda function error: a reply of the form
	// {"errorMessage": ..., "errorType": ...} or a response header
	// X-Amz-Function-Error (RT-40, D-33).
	KindFunctionError
	// KindInvalidReply means the backend answered something that cannot be
	// used: a Lambda invoke endpoint status outside 2xx, a reply that is not a
	// Lambda proxy result, a body that could not be read, or an HTTP_PROXY
	// reply larger than MaxReplyBytes on a message.
	KindInvalidReply
	// KindUnsupported means the integration type is not served by Invoke
	// (HTTP and MOCK belong to the template engine) or is unknown.
	KindUnsupported
	// KindInvalidRequest means the call could not be built: the rendered uri
	// is not an absolute http(s) URL, the method is not a valid HTTP method,
	// or a request parameter is malformed.
	KindInvalidRequest
	// KindCanceled means the caller's context ended (cancelled, or its own
	// deadline passed) before the integration answered. It is not a timeout
	// of the integration.
	KindCanceled
)

// String returns the kind's name, as used in logs.
func (k Kind) String() string {
	switch k {
	case KindUnreachable:
		return "Unreachable"
	case KindTimeout:
		return "Timeout"
	case KindFunctionError:
		return "FunctionError"
	case KindInvalidReply:
		return "InvalidReply"
	case KindUnsupported:
		return "Unsupported"
	case KindInvalidRequest:
		return "InvalidRequest"
	case KindCanceled:
		return "Canceled"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is the error Invoke returns: why the call failed and the underlying
// cause.
type Error struct {
	Kind Kind
	// Integration is the integration's name and Type its type.
	Integration string
	Type        string
	// StatusCode is the HTTP status of the endpoint when it caused the error
	// (an AWS_PROXY invoke endpoint answering outside 2xx, or a function
	// error), else 0.
	StatusCode int
	// ErrorMessage and ErrorType are the Lambda function error's errorMessage
	// and errorType (KindFunctionError; empty when the reply had none).
	ErrorMessage string
	ErrorType    string
	// Err is the cause; it may be nil for errors detected in the reply.
	Err error
	// msg says what went wrong, without the cause.
	msg string
}

// Error returns a one-line description naming the integration.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("call integration ")
	b.WriteString(strconv.Quote(e.Integration))
	if e.Type != "" {
		b.WriteString(" (")
		b.WriteString(e.Type)
		b.WriteByte(')')
	}
	b.WriteString(": ")
	if e.msg != "" {
		b.WriteString(e.msg)
	} else {
		b.WriteString(strings.ToLower(e.Kind.String()))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether e is an integration timeout when target is
// context.DeadlineExceeded, so that errors.Is(err, context.DeadlineExceeded)
// holds for KindTimeout whatever the transport's own error was. Note that it
// also holds for KindCanceled when the caller's deadline passed (through the
// cause); use Kind to tell them apart.
func (e *Error) Is(target error) bool {
	return e.Kind == KindTimeout && target == context.DeadlineExceeded
}

// HandshakeStatus returns the HTTP status a failed $connect integration
// answers the handshake with (RT-11, D-33): 504 for a timeout, 502 for
// everything else.
func (e *Error) HandshakeStatus() int {
	if e.Kind == KindTimeout {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// errIntegrationTimeout is the cause of the per-call context when the
// integration's timeout_ms elapses.
var errIntegrationTimeout = errors.New("integration timeout_ms elapsed")

// errTooLarge is the cause of a reply larger than the reading limit.
var errTooLarge = errors.New("reply too large")
