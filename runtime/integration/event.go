package integration

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// maxPooledBuffer is the largest buffer kept for reuse; buffers grown by
// larger events or replies are left to the garbage collector.
const maxPooledBuffer = 512 << 10

// bufPool holds byte buffers for event encoding and reply reading.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

func getBuffer() *[]byte {
	b := bufPool.Get().(*[]byte)
	*b = (*b)[:0]
	return b
}

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		bufPool.Put(b)
	}
}

// appendEvent appends the AWS WebSocket Lambda proxy event of req (RT-40,
// D-42) as JSON. The field set decodes without loss into aws-lambda-go's
// events.APIGatewayWebsocketProxyRequest.
func appendEvent(dst []byte, req *Request) []byte {
	dst = append(dst, '{')
	switch req.EventType {
	case EventConnect:
		dst = appendConnectHeaders(dst, req)
		dst = appendQuery(dst, req.RawQuery)
	case EventDisconnect:
		dst = appendDisconnectHeaders(dst, req.DomainName)
	}
	if len(req.StageVariables) > 0 {
		dst = append(dst, `"stageVariables":`...)
		dst = appendStringMap(dst, req.StageVariables)
		dst = append(dst, ',')
	}
	dst = appendRequestContext(dst, req)
	if req.EventType == EventMessage {
		dst = append(dst, `,"body":`...)
		dst = appendJSONString(dst, bytesString(req.Body))
	}
	return append(dst, `,"isBase64Encoded":false}`...)
}

// bytesString returns b as a string without copying; the string must not
// outlive b or be retained.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafeString(b)
}

func appendRequestContext(dst []byte, req *Request) []byte {
	dst = append(dst, `"requestContext":{"routeKey":`...)
	dst = appendJSONString(dst, req.RouteKey)
	dst = append(dst, `,"eventType":`...)
	dst = appendJSONString(dst, req.EventType)
	dst = append(dst, `,"extendedRequestId":`...)
	dst = appendJSONString(dst, req.ExtendedRequestID)
	dst = append(dst, `,"requestTime":"`...)
	dst = req.RequestTime.UTC().AppendFormat(dst, RequestTimeLayout)
	dst = append(dst, `","messageDirection":"IN","stage":`...)
	dst = appendJSONString(dst, req.Stage)
	dst = append(dst, `,"connectedAt":`...)
	dst = strconv.AppendInt(dst, req.ConnectedAt.UnixMilli(), 10)
	dst = append(dst, `,"requestTimeEpoch":`...)
	dst = strconv.AppendInt(dst, req.RequestTime.UnixMilli(), 10)
	dst = append(dst, `,"identity":{"sourceIp":`...)
	dst = appendJSONString(dst, req.SourceIP)
	dst = append(dst, `,"userAgent":`...)
	dst = appendJSONString(dst, req.UserAgent)
	dst = append(dst, `},"requestId":`...)
	dst = appendJSONString(dst, req.RequestID)
	dst = append(dst, `,"domainName":`...)
	dst = appendJSONString(dst, req.DomainName)
	dst = append(dst, `,"connectionId":`...)
	dst = appendJSONString(dst, req.ConnectionID)
	dst = append(dst, `,"apiId":`...)
	dst = appendJSONString(dst, req.APIID)
	switch req.EventType {
	case EventMessage:
		dst = append(dst, `,"messageId":`...)
		dst = appendJSONString(dst, req.MessageID)
	case EventDisconnect:
		dst = append(dst, `,"disconnectStatusCode":`...)
		dst = strconv.AppendInt(dst, int64(req.DisconnectStatusCode), 10)
		dst = append(dst, `,"disconnectReason":`...)
		dst = appendJSONString(dst, req.DisconnectReason)
	}
	if a := req.Authorizer; a != nil {
		dst = append(dst, `,"authorizer":{"principalId":`...)
		dst = appendJSONString(dst, a.PrincipalID)
		dst = append(dst, `,"integrationLatency":`...)
		dst = strconv.AppendInt(dst, latencyMillis(a.IntegrationLatency), 10)
		var small [16]string
		keys := small[:0]
		for k := range a.Context {
			if k != "principalId" && k != "integrationLatency" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = append(dst, ',')
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONValue(dst, a.Context[k])
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendStringMap appends m as a JSON object with sorted keys.
func appendStringMap(dst []byte, m map[string]string) []byte {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, m[k])
	}
	return append(dst, '}')
}

// isForwardedHeader reports whether name is one of the X-Forwarded-*
// headers the gateway sets itself.
func isForwardedHeader(name string) bool {
	return strings.EqualFold(name, "X-Forwarded-For") ||
		strings.EqualFold(name, "X-Forwarded-Port") ||
		strings.EqualFold(name, "X-Forwarded-Proto")
}

// eventHeaders returns the CONNECT event's headers in order: the handshake's
// as sent (D-42) followed by the gateway's X-Forwarded-* headers.
func eventHeaders(req *Request) []Header {
	hs := make([]Header, 0, len(req.Headers)+3)
	for _, h := range req.Headers {
		if !isForwardedHeader(h.Name) {
			hs = append(hs, h)
		}
	}
	return append(hs,
		Header{Name: "X-Forwarded-For", Value: req.SourceIP},
		Header{Name: "X-Forwarded-Port", Value: req.ForwardedPort},
		Header{Name: "X-Forwarded-Proto", Value: req.ForwardedProto},
	)
}

// appendConnectHeaders appends "headers" and "multiValueHeaders" of a
// CONNECT event, each followed by a comma. A repeated header name has its
// last value in headers and all values in multiValueHeaders; names keep
// the client's casing and the order of their first appearance.
func appendConnectHeaders(dst []byte, req *Request) []byte {
	hs := eventHeaders(req)
	pairs := make([]pair, len(hs))
	for i, h := range hs {
		pairs[i] = pair{h.Name, h.Value}
	}
	dst = append(dst, `"headers":`...)
	dst = appendSingleMap(dst, pairs)
	dst = append(dst, `,"multiValueHeaders":`...)
	dst = appendMultiMap(dst, pairs)
	return append(dst, ',')
}

// disconnectHeaders are the header names of a DISCONNECT event (D-42); the
// first one, Host, carries the handshake's Host and the others are empty.
var disconnectHeaders = [...]string{"Host", "x-api-key", "X-Forwarded-For", "x-restapi"}

func appendDisconnectHeaders(dst []byte, host string) []byte {
	for _, multi := range [2]bool{false, true} {
		if multi {
			dst = append(dst, `"multiValueHeaders":{`...)
		} else {
			dst = append(dst, `"headers":{`...)
		}
		for i, name := range disconnectHeaders {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, name)
			dst = append(dst, ':')
			if multi {
				dst = append(dst, '[')
			}
			if i == 0 {
				dst = appendJSONString(dst, host)
			} else {
				dst = append(dst, `""`...)
			}
			if multi {
				dst = append(dst, ']')
			}
		}
		dst = append(dst, "},"...)
	}
	return dst
}

// pair is one header or query parameter.
type pair struct{ key, value string }

// appendSingleMap appends pairs as a JSON object holding each key once, in
// the order of first appearance, with its last value.
func appendSingleMap(dst []byte, pairs []pair) []byte {
	dst = append(dst, '{')
	first := true
	for i, p := range pairs {
		if seenBefore(pairs, i) {
			continue
		}
		value := p.value
		for _, q := range pairs[i+1:] {
			if q.key == p.key {
				value = q.value
			}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, p.key)
		dst = append(dst, ':')
		dst = appendJSONString(dst, value)
	}
	return append(dst, '}')
}

// appendMultiMap appends pairs as a JSON object of arrays holding every value
// of a key in order.
func appendMultiMap(dst []byte, pairs []pair) []byte {
	dst = append(dst, '{')
	first := true
	for i, p := range pairs {
		if seenBefore(pairs, i) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, p.key)
		dst = append(dst, ":["...)
		dst = appendJSONString(dst, p.value)
		for _, q := range pairs[i+1:] {
			if q.key == p.key {
				dst = append(dst, ',')
				dst = appendJSONString(dst, q.value)
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// seenBefore reports whether pairs[i].key occurs before index i.
func seenBefore(pairs []pair, i int) bool {
	for _, q := range pairs[:i] {
		if q.key == pairs[i].key {
			return true
		}
	}
	return false
}

// appendQuery appends "queryStringParameters" and
// "multiValueQueryStringParameters" of a CONNECT event, each followed by a
// comma, or nothing when the handshake had no query parameters.
func appendQuery(dst []byte, rawQuery string) []byte {
	pairs := parseQuery(rawQuery)
	if len(pairs) == 0 {
		return dst
	}
	dst = append(dst, `"queryStringParameters":`...)
	dst = appendSingleMap(dst, pairs)
	dst = append(dst, `,"multiValueQueryStringParameters":`...)
	dst = appendMultiMap(dst, pairs)
	return append(dst, ',')
}

// QueryParameters splits a raw query string into its parameters in order,
// unescaping names and values as the CONNECT event does (D-42): a parameter
// without '=' has an empty value, a part that does not unescape is kept as
// written, empty parts are skipped. Authorizers read the same parameters.
func QueryParameters(rawQuery string) []Header {
	pairs := parseQuery(rawQuery)
	if pairs == nil {
		return nil
	}
	hs := make([]Header, len(pairs))
	for i, p := range pairs {
		hs[i] = Header{Name: p.key, Value: p.value}
	}
	return hs
}

// parseQuery is QueryParameters as the event encoder's pairs.
func parseQuery(rawQuery string) []pair {
	if rawQuery == "" {
		return nil
	}
	var pairs []pair
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		key, value, _ := strings.Cut(part, "=")
		pairs = append(pairs, pair{unescapeQuery(key), unescapeQuery(value)})
	}
	return pairs
}

// queryValue returns the last value of the query parameter key in rawQuery.
func queryValue(rawQuery, key string) (string, bool) {
	var value string
	found := false
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if unescapeQuery(k) == key {
			value, found = unescapeQuery(v), true
		}
	}
	return value, found
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}
