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
	// KindUnsupported means the integration type is unknown.
	KindUnsupported
	// KindInvalidRequest means the call could not be built: the integration
	// does not prepare (see Invoker.Prepare), the rendered uri is not an
	// absolute http(s) URL, the method is not a valid HTTP method, a
	// CONVERT_TO_BINARY payload is not base64, or a MOCK request template
	// gave a statusCode that is not an HTTP status.
	KindInvalidRequest
	// KindCanceled means the caller's context ended (cancelled, or its own
	// deadline passed) before the integration answered. It is not a timeout
	// of the integration.
	KindCanceled
	// KindUnsupportedMediaType means an HTTP or MOCK integration has no
	// request template for the message and its passthrough_behavior forbids
	// passing it through (RT-42, D-44). The client gets the
	// "Unsupported Media Type" error frame (Error.ClientMessage).
	KindUnsupportedMediaType
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
	case KindUnsupportedMediaType:
		return "UnsupportedMediaType"
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
// answers the handshake with (RT-11, D-33): 504 for a timeout, 415 when no
// request template applies (KindUnsupportedMediaType), 502 for everything
// else.
func (e *Error) HandshakeStatus() int {
	switch e.Kind {
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadGateway
}

// Client-visible error messages of failed messages (RT-22, D-44).
const (
	MessageInternalServerError  = "Internal server error"
	MessageUnsupportedMediaType = "Unsupported Media Type"
)

// ClientMessage returns the "message" of the error frame a failed message
// answers the client with: MessageUnsupportedMediaType for
// KindUnsupportedMediaType (D-44), MessageInternalServerError for every
// other kind (RT-22).
func (e *Error) ClientMessage() string {
	if e.Kind == KindUnsupportedMediaType {
		return MessageUnsupportedMediaType
	}
	return MessageInternalServerError
}

// AWS gateway response types, the values of context.error.responseType.
const (
	ResponseTypeIntegrationFailure   = "INTEGRATION_FAILURE"
	ResponseTypeIntegrationTimeout   = "INTEGRATION_TIMEOUT"
	ResponseTypeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	ResponseTypeBadRequestBody       = "BAD_REQUEST_BODY"
	ResponseTypeThrottled            = "THROTTLED"
	ResponseTypeUnauthorized         = "UNAUTHORIZED"
	ResponseTypeAccessDenied         = "ACCESS_DENIED"
	ResponseTypeAuthorizerFailure    = "AUTHORIZER_FAILURE"
	ResponseTypeQuotaExceeded        = "QUOTA_EXCEEDED"
	ResponseTypeInvalidAPIKey        = "INVALID_API_KEY"
	ResponseTypeDefault4XX           = "DEFAULT_4XX"
	ResponseTypeDefault5XX           = "DEFAULT_5XX"
)

// ResponseType returns the AWS gateway response type of the failure, for
// context.error.responseType: ResponseTypeIntegrationTimeout for
// KindTimeout, ResponseTypeUnsupportedMediaType for
// KindUnsupportedMediaType, ResponseTypeIntegrationFailure otherwise.
func (e *Error) ResponseType() string {
	switch e.Kind {
	case KindTimeout:
		return ResponseTypeIntegrationTimeout
	case KindUnsupportedMediaType:
		return ResponseTypeUnsupportedMediaType
	}
	return ResponseTypeIntegrationFailure
}

// errIntegrationTimeout is the cause of the per-call context when the
// integration's timeout_ms elapses.
var errIntegrationTimeout = errors.New("integration timeout_ms elapsed")

// errTooLarge is the cause of a reply larger than the reading limit.
var errTooLarge = errors.New("reply too large")

// errBudget is the cause of a reply that did not fit in the memory the
// gateway allows all replies in progress together (Options.ReplyBudget).
var errBudget = errors.New("the gateway's reply memory budget is exhausted")
