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
// "context." prefix) for this request, as mapping sources, uri templates and
// access logs see it: always a string (D-42). ok is false when the variable
// does not exist for this event: messageId outside MESSAGE,
// disconnectStatusCode and disconnectReason outside DISCONNECT, authorizer.*
// without an authorizer or an absent context key, and unknown names.
//
// The names are connectionId, connectedAt and requestTimeEpoch
// (milliseconds), domainName, eventType, messageId, routeKey, requestId,
// extendedRequestId, apiId, stage, requestTime (RequestTimeLayout, UTC),
// messageDirection ("IN"), identity.sourceIp, identity.userAgent,
// authorizer.principalId, authorizer.integrationLatency (milliseconds),
// authorizer.KEY (a context key of the authorizer's result: strings as they
// are, numbers in their JSON form, booleans as true/false),
// disconnectStatusCode and disconnectReason.
func (r *Request) ContextValue(name string) (string, bool) {
	switch name {
	case "connectionId":
		return r.ConnectionID, true
	case "connectedAt":
		return strconv.FormatInt(r.ConnectedAt.UnixMilli(), 10), true
	case "domainName":
		return r.DomainName, true
	case "eventType":
		return r.EventType, true
	case "messageId":
		if r.EventType != EventMessage {
			return "", false
		}
		return r.MessageID, true
	case "routeKey":
		return r.RouteKey, true
	case "requestId":
		return r.RequestID, true
	case "extendedRequestId":
		return r.ExtendedRequestID, true
	case "apiId":
		return r.APIID, true
	case "stage":
		return r.Stage, true
	case "requestTime":
		return r.RequestTime.UTC().Format(RequestTimeLayout), true
	case "requestTimeEpoch":
		return strconv.FormatInt(r.RequestTime.UnixMilli(), 10), true
	case "messageDirection":
		return MessageDirection, true
	case "identity.sourceIp":
		return r.SourceIP, true
	case "identity.userAgent":
		return r.UserAgent, true
	case "disconnectStatusCode":
		if r.EventType != EventDisconnect {
			return "", false
		}
		return strconv.Itoa(r.DisconnectStatusCode), true
	case "disconnectReason":
		if r.EventType != EventDisconnect {
			return "", false
		}
		return r.DisconnectReason, true
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && r.Authorizer != nil {
		switch key {
		case "principalId":
			return r.Authorizer.PrincipalID, true
		case "integrationLatency":
			return strconv.FormatInt(latencyMillis(r.Authorizer.IntegrationLatency), 10), true
		}
		v, ok := r.Authorizer.Context[key]
		if !ok {
			return "", false
		}
		return contextString(v), true
	}
	return "", false
}

// latencyMillis returns d in whole milliseconds.
func latencyMillis(d time.Duration) int64 { return d.Milliseconds() }

// contextString renders an authorizer context value as a string (D-42).
func contextString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return string(appendJSONFloat(nil, v))
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	return string(b)
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
