package integration

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// RequestTimeLayout is the layout of requestContext.requestTime and of
// context.requestTime (RT-40); times are rendered in UTC (D-42).
const RequestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// MessageDirection is the value of requestContext.messageDirection for every
// event the gateway sends to an integration.
const MessageDirection = "IN"

// ContextValue returns the value of the context variable name (without the
// "context." prefix) for this request, as mapping sources, templates and
// access logs see it: always a string (D-42). ok is false when the variable
// does not exist for this event, and for unknown names.
//
// The names are AWS's WebSocket $context names that apply to this gateway:
//
//   - connectionId, connectedAt and requestTimeEpoch (milliseconds),
//     domainName, eventType, routeKey, requestId, extendedRequestId, apiId,
//     stage, requestTime (RequestTimeLayout, UTC), messageDirection ("IN");
//   - messageId (MESSAGE only); disconnectStatusCode and disconnectReason
//     (DISCONNECT only);
//   - identity.sourceIp, identity.userAgent, and identity.apiKey and
//     identity.apiKeyId when the gateway set an API key;
//   - authorizer.principalId, authorizer.integrationLatency (milliseconds)
//     and authorizer.KEY (a context key of the authorizer's result: strings
//     as they are, numbers in their JSON form, booleans as true/false),
//     when an authorizer admitted the connection;
//   - status, integrationLatency (milliseconds), integration.status,
//     integration.integrationStatus (both Request.IntegrationStatus),
//     integration.latency, integration.error, error.message,
//     error.messageString (error.message as a quoted JSON string),
//     error.responseType and error.validationErrorString: the outcome of the
//     event, which exists once the gateway has filled in the matching
//     Request field (for access logs). In a response template,
//     integrationLatency, integration.latency, integration.status and
//     integration.integrationStatus are those of the call being answered.
func (r *Request) ContextValue(name string) (string, bool) {
	if s, ok, direct := r.contextString(name); direct {
		return s, ok
	}
	var small [64]byte
	b, ok := r.appendContextValue(small[:0], name)
	if !ok {
		return "", false
	}
	return string(b), true
}

// AppendContextValue appends the value of the context variable name (see
// ContextValue) to dst; ok is false, and dst unchanged, when the variable
// does not exist for this event. It does not allocate when dst has room.
func (r *Request) AppendContextValue(dst []byte, name string) ([]byte, bool) {
	if s, ok, direct := r.contextString(name); direct {
		if !ok {
			return dst, false
		}
		return append(dst, s...), true
	}
	return r.appendContextValue(dst, name)
}

// contextString returns the variables held as strings in the request;
// direct is false for the others, which appendContextValue formats.
func (r *Request) contextString(name string) (s string, ok, direct bool) {
	switch name {
	case "connectionId":
		return r.ConnectionID, true, true
	case "domainName":
		return r.DomainName, true, true
	case "eventType":
		return r.EventType, true, true
	case "messageId":
		return r.MessageID, r.EventType == EventMessage, true
	case "routeKey":
		return r.RouteKey, true, true
	case "requestId":
		return r.RequestID, true, true
	case "extendedRequestId":
		return r.ExtendedRequestID, true, true
	case "apiId":
		return r.APIID, true, true
	case "stage":
		return r.Stage, true, true
	case "messageDirection":
		return MessageDirection, true, true
	case "identity.sourceIp":
		return r.SourceIP, true, true
	case "identity.userAgent":
		return r.UserAgent, true, true
	case "identity.apiKey":
		return r.APIKey, r.APIKey != "", true
	case "identity.apiKeyId":
		return r.APIKeyID, r.APIKeyID != "", true
	case "disconnectReason":
		return r.DisconnectReason, r.EventType == EventDisconnect, true
	case "integration.error":
		return r.IntegrationError, r.IntegrationError != "", true
	case "error.message":
		return r.ErrorMessage, r.ErrorMessage != "", true
	case "error.responseType":
		return r.ErrorResponseType, r.ErrorResponseType != "", true
	case "error.validationErrorString":
		return r.ValidationError, r.ValidationError != "", true
	case "authorizer.principalId":
		if r.Authorizer == nil {
			return "", false, true
		}
		return r.Authorizer.PrincipalID, true, true
	}
	return "", false, false
}

// appendContextValue appends the variables that need formatting.
func (r *Request) appendContextValue(dst []byte, name string) ([]byte, bool) {
	switch name {
	case "connectedAt":
		return strconv.AppendInt(dst, r.ConnectedAt.UnixMilli(), 10), true
	case "requestTime":
		return r.RequestTime.UTC().AppendFormat(dst, RequestTimeLayout), true
	case "requestTimeEpoch":
		return strconv.AppendInt(dst, r.RequestTime.UnixMilli(), 10), true
	case "disconnectStatusCode":
		if r.EventType != EventDisconnect {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(r.DisconnectStatusCode), 10), true
	case "status":
		if r.Status == 0 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(r.Status), 10), true
	case "integrationLatency", "integration.latency":
		if r.IntegrationLatency <= 0 && r.IntegrationStatus == 0 {
			return dst, false
		}
		return strconv.AppendInt(dst, latencyMillis(r.IntegrationLatency), 10), true
	case "integration.status", "integration.integrationStatus":
		if r.IntegrationStatus == 0 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(r.IntegrationStatus), 10), true
	case "error.messageString":
		if r.ErrorMessage == "" {
			return dst, false
		}
		return appendJSONString(dst, r.ErrorMessage), true
	}
	key, ok := strings.CutPrefix(name, "authorizer.")
	if !ok || r.Authorizer == nil {
		return dst, false
	}
	if key == "integrationLatency" {
		return strconv.AppendInt(dst, latencyMillis(r.Authorizer.IntegrationLatency), 10), true
	}
	v, ok := r.Authorizer.Context[key]
	if !ok {
		return dst, false
	}
	return appendContextString(dst, v), true
}

// latencyMillis returns d in whole milliseconds.
func latencyMillis(d time.Duration) int64 { return d.Milliseconds() }

// appendContextString appends an authorizer context value as a string
// (D-42).
func appendContextString(dst []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return append(dst, v...)
	case bool:
		return strconv.AppendBool(dst, v)
	case float64:
		return appendJSONFloat(dst, v)
	case nil:
		return dst
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return append(dst, s...)
	}
	return append(dst, b...)
}

// appendJSONFloat appends f the way encoding/json writes a float64. NaN and
// infinities, which JSON cannot hold, are written as null.
func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
