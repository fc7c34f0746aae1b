package authorizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// unauthorizedMessage is the errorMessage of a function error that means
// 401 (D-45), what a Node.js authorizer's callback("Unauthorized") yields.
const unauthorizedMessage = "Unauthorized"

// reply is an authorizer result, or a function error.
type reply struct {
	PrincipalID        *string         `json:"principalId"`
	PolicyDocument     *PolicyDocument `json:"policyDocument"`
	Context            map[string]any  `json:"context"`
	UsageIdentifierKey *string         `json:"usageIdentifierKey"`
	ErrorMessage       *string         `json:"errorMessage"`
}

// functionError is a Lambda function error reply.
type functionError struct {
	message string
}

func (e *functionError) Error() string {
	if e.message == "" {
		return "the function failed"
	}
	return "the function failed: " + e.message
}

// parsedReply is a valid authorizer result.
type parsedReply struct {
	principalID        string
	policy             PolicyDocument
	context            map[string]any
	usageIdentifierKey string
}

// parseReply reads an authorizer result. A function error (an object with
// errorMessage and no principalId or policyDocument) is a *functionError;
// anything that is not a usable result is another error.
func parseReply(raw []byte) (*parsedReply, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("the reply is not a JSON object")
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("the reply is not an authorizer result: %w", err)
	}
	if r.ErrorMessage != nil && r.PrincipalID == nil && r.PolicyDocument == nil {
		return nil, &functionError{message: *r.ErrorMessage}
	}
	if r.PolicyDocument == nil {
		return nil, errors.New("the reply has no policyDocument")
	}
	if err := r.PolicyDocument.validate(); err != nil {
		return nil, fmt.Errorf("the reply's policyDocument is invalid: %w", err)
	}
	p := &parsedReply{policy: *r.PolicyDocument}
	if r.PrincipalID != nil {
		p.principalID = *r.PrincipalID
	}
	if r.UsageIdentifierKey != nil {
		p.usageIdentifierKey = *r.UsageIdentifierKey
	}
	for k, v := range r.Context {
		switch v.(type) {
		case nil:
			continue
		case string, float64, bool:
		default:
			return nil, fmt.Errorf("the reply's context value %q is not a string, number or boolean", k)
		}
		if p.context == nil {
			p.context = make(map[string]any, len(r.Context))
		}
		p.context[k] = v
	}
	return p, nil
}

// functionErrorMessage returns the errorMessage of a reply flagged with
// X-Amz-Function-Error, or "" when the body has none.
func functionErrorMessage(raw []byte) string {
	var r struct {
		ErrorMessage any `json:"errorMessage"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	s, _ := r.ErrorMessage.(string)
	return s
}
