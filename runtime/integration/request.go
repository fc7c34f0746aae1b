package integration

import (
	"net/http"
	"time"
)

// Event types of a Request (requestContext.eventType).
const (
	EventConnect    = "CONNECT"
	EventMessage    = "MESSAGE"
	EventDisconnect = "DISCONNECT"
)

// Request is one event the gateway hands to an integration: a handshake
// ($connect), a message, or the end of a connection ($disconnect). The
// gateway fills it in; Invoke and Call only read it. It carries everything the AWS
// WebSocket proxy event (RT-40), the HTTP_PROXY request (RT-41) and the
// mapping sources of request_parameters (D-24) need.
type Request struct {
	// EventType is EventConnect, EventMessage or EventDisconnect.
	EventType string
	// RouteKey is the selected route's key ("$connect", "sendmessage", ...).
	RouteKey string

	APIID string
	Stage string
	// DomainName is the Host header of the handshake, as sent (D-42).
	DomainName   string
	ConnectionID string
	ConnectedAt  time.Time
	// RequestID is this event's request id; ExtendedRequestID its extended
	// request id (same shape, RT-14).
	RequestID         string
	ExtendedRequestID string
	// MessageID is set on MESSAGE events only.
	MessageID string
	// RequestTime is when the gateway received the event.
	RequestTime time.Time

	SourceIP  string
	UserAgent string

	// Headers are the handshake's headers in the order and with the name
	// casing the client sent them (D-42), without the X-Forwarded-* headers
	// that the gateway adds itself. The gateway keeps them for the whole
	// connection, so that route.request.header.X mappings can be resolved.
	Headers []Header
	// ForwardedPort and ForwardedProto are the X-Forwarded-Port and
	// X-Forwarded-Proto values of CONNECT events ("8080", "http").
	ForwardedPort  string
	ForwardedProto string
	// RawQuery is the handshake's query string without '?', "" when none.
	RawQuery string

	// Body is the message (MESSAGE only). It must not be modified.
	Body []byte

	// StageVariables are the stage's variables (nil or empty when none).
	StageVariables map[string]string

	// Authorizer is set on every event of a connection that an authorizer
	// admitted (RT-40); nil otherwise.
	Authorizer *Authorizer

	// DisconnectStatusCode and DisconnectReason are set on DISCONNECT events
	// (RT-13).
	DisconnectStatusCode int
	DisconnectReason     string

	// APIKey and APIKeyID are the API key the connection presented and its
	// name (context.identity.apiKey, context.identity.apiKeyId), "" when none.
	APIKey   string
	APIKeyID string

	// The outcome of the event, which the gateway fills in after the
	// integration ran so that access logs (RT-32) can show it; the integration
	// package never sets them. Zero values mean "not known", and the matching
	// context variables then do not exist (see ContextValue).
	//
	// Status is the status the gateway answered with (context.status).
	Status int
	// IntegrationStatus is the integration's status code
	// (context.integration.status) and IntegrationLatency how long the call
	// took (context.integrationLatency); IntegrationError is the failure's
	// description (context.integration.error).
	IntegrationStatus  int
	IntegrationLatency time.Duration
	IntegrationError   string
	// ErrorMessage is the message of the error frame or status sent
	// (context.error.message), ErrorResponseType its AWS gateway response type
	// such as ResponseTypeIntegrationFailure (context.error.responseType), and
	// ValidationError the detail of a request validation failure
	// (context.error.validationErrorString).
	ErrorMessage      string
	ErrorResponseType string
	ValidationError   string
}

// Header is one request header as the client sent it.
type Header struct {
	Name  string
	Value string
}

// Authorizer is what a Lambda REQUEST authorizer returned for a connection.
type Authorizer struct {
	PrincipalID string
	// IntegrationLatency is how long the authorizer call took.
	IntegrationLatency time.Duration
	// Context holds the authorizer's context values with their JSON types
	// (string, float64, bool) (D-42).
	Context map[string]any
}

// Response is what an integration answered.
type Response struct {
	// StatusCode is the HTTP status of an HTTP_PROXY or HTTP backend, the
	// statusCode of a Lambda proxy result (200 when the result has none), or
	// the status a MOCK request template produced (RT-43).
	StatusCode int
	// Header holds the backend's response headers (HTTP_PROXY, HTTP) or the
	// Lambda result's headers and multiValueHeaders (AWS_PROXY); nil for MOCK.
	Header http.Header
	// Body is the reply to send to the client on a two-way route: the
	// backend's body (HTTP_PROXY), the Lambda result's body (base64-decoded
	// when isBase64Encoded is true, D-40), or the rendered integration
	// response (HTTP, MOCK; RT-24).
	Body []byte
	// HasBody is false when a Lambda result has no body member (D-40), and
	// for HTTP and MOCK when no integration response applies (D-44): a
	// two-way route then sends nothing.
	HasBody bool
	// Binary is true when Body is not valid UTF-8 and came from a
	// base64-encoded Lambda body (D-40) or an HTTP reply passed through
	// without CONVERT_TO_TEXT: it is sent as a binary frame.
	Binary bool
	// Latency is how long the call took.
	Latency time.Duration
}
