package authorizer

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// MethodARN returns the method ARN of a WebSocket $connect (D-45):
// arn:aws:execute-api:{region}:{account}:{apiID}/{stage}/$connect.
func MethodARN(region, account, apiID, stage string) string {
	return "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/" + stage + "/" + model.RouteConnect
}

// requestEvent is the AWS REQUEST-authorizer event of a WebSocket $connect.
type requestEvent struct {
	Type                            string              `json:"type"`
	MethodArn                       string              `json:"methodArn"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  connectContext      `json:"requestContext"`
}

// connectContext is the requestContext of a CONNECT event (RT-40).
type connectContext struct {
	RouteKey          string          `json:"routeKey"`
	EventType         string          `json:"eventType"`
	ExtendedRequestID string          `json:"extendedRequestId"`
	RequestTime       string          `json:"requestTime"`
	MessageDirection  string          `json:"messageDirection"`
	Stage             string          `json:"stage"`
	ConnectedAt       int64           `json:"connectedAt"`
	RequestTimeEpoch  int64           `json:"requestTimeEpoch"`
	Identity          connectIdentity `json:"identity"`
	RequestID         string          `json:"requestId"`
	DomainName        string          `json:"domainName"`
	ConnectionID      string          `json:"connectionId"`
	APIID             string          `json:"apiId"`
}

type connectIdentity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// encodeEvent returns the JSON REQUEST-authorizer event for req, whose
// method ARN is methodARN. Maps that have nothing are written as {}.
func encodeEvent(req *integration.Request, methodARN string) ([]byte, error) {
	ev := requestEvent{
		Type:                            "REQUEST",
		MethodArn:                       methodARN,
		Headers:                         map[string]string{},
		MultiValueHeaders:               map[string][]string{},
		QueryStringParameters:           map[string]string{},
		MultiValueQueryStringParameters: map[string][]string{},
		StageVariables:                  req.StageVariables,
		RequestContext: connectContext{
			RouteKey:          model.RouteConnect,
			EventType:         integration.EventConnect,
			ExtendedRequestID: req.ExtendedRequestID,
			RequestTime:       req.RequestTime.UTC().Format(integration.RequestTimeLayout),
			MessageDirection:  integration.MessageDirection,
			Stage:             req.Stage,
			ConnectedAt:       req.ConnectedAt.UnixMilli(),
			RequestTimeEpoch:  req.RequestTime.UnixMilli(),
			Identity:          connectIdentity{SourceIP: req.SourceIP, UserAgent: req.UserAgent},
			RequestID:         req.RequestID,
			DomainName:        req.DomainName,
			ConnectionID:      req.ConnectionID,
			APIID:             req.APIID,
		},
	}
	if ev.StageVariables == nil {
		ev.StageVariables = map[string]string{}
	}
	addPairs(ev.Headers, ev.MultiValueHeaders, eventHeaders(req))
	addPairs(ev.QueryStringParameters, ev.MultiValueQueryStringParameters, parseQuery(req.RawQuery))

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&ev); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// addPairs adds pairs in order: the last value of a key to single, every
// value to multi. Keys are compared exactly, as the CONNECT event does.
func addPairs(single map[string]string, multi map[string][]string, pairs []pair) {
	for _, p := range pairs {
		single[p.key] = p.value
		multi[p.key] = append(multi[p.key], p.value)
	}
}

// eventHeaders returns the CONNECT event's headers in order: the handshake's
// as sent (D-42), without any X-Forwarded-* the client sent, followed by the
// gateway's X-Forwarded-For, X-Forwarded-Port and X-Forwarded-Proto.
func eventHeaders(req *integration.Request) []pair {
	hs := make([]pair, 0, len(req.Headers)+3)
	for _, h := range req.Headers {
		if !isForwardedHeader(h.Name) {
			hs = append(hs, pair{h.Name, h.Value})
		}
	}
	return append(hs,
		pair{"X-Forwarded-For", req.SourceIP},
		pair{"X-Forwarded-Port", req.ForwardedPort},
		pair{"X-Forwarded-Proto", req.ForwardedProto},
	)
}

// isForwardedHeader reports whether name is one of the X-Forwarded-*
// headers the gateway sets itself.
func isForwardedHeader(name string) bool {
	return strings.EqualFold(name, "X-Forwarded-For") ||
		strings.EqualFold(name, "X-Forwarded-Port") ||
		strings.EqualFold(name, "X-Forwarded-Proto")
}
