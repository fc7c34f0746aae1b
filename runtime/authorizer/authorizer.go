package authorizer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// Defaults of Options (D-45).
const (
	DefaultRegion  = "local"
	DefaultAccount = "000000000000"
)

// DefaultTimeout applies when an authorizer's TimeoutMS is not positive
// (the default of timeout_ms, D-19).
const DefaultTimeout = 10 * time.Second

// ErrTimeout is the cause of a 500 when the authorizer did not answer within
// its timeout_ms.
var ErrTimeout = errors.New("authorizer timeout_ms elapsed")

// Options configure New.
type Options struct {
	// Transport makes the HTTP calls; redirects are never followed. Nil
	// means integration.SharedTransport().
	Transport http.RoundTripper
	// Region and Account go into the method ARN; "" means DefaultRegion
	// and DefaultAccount (D-45).
	Region  string
	Account string
	// Now tells the time for result caching; nil means time.Now. Latency
	// is always measured with the real clock.
	Now func() time.Time
	// CacheSize bounds the number of cached results; 0 or less means
	// DefaultCacheSize. It only matters when result_ttl_seconds > 0.
	CacheSize int
}

// Authorizer is an authorizer block compiled for one stage. It is
// immutable apart from its result cache and safe for concurrent use.
type Authorizer struct {
	name    string
	uri     string
	sources []identitySource
	timeout time.Duration
	cache   *resultCache // nil when results are not cached
	rt      http.RoundTripper
	region  string
	account string
	now     func() time.Time
}

// Result is the outcome of one authorization. It and its Context are
// shared with the cache and must not be modified.
type Result struct {
	// Status is 200 (allowed), 401 (identity missing, or the authorizer said
	// Unauthorized), 403 (denied, or not allowed) or 500 (the authorizer
	// failed).
	Status int
	// PrincipalID is the authorizer's principalId (200 and 403 after a
	// call).
	PrincipalID string
	// Context holds the authorizer's context values with their JSON types:
	// string, float64 or bool (D-42); nil when it returned none.
	Context map[string]any
	// UsageIdentifierKey is the authorizer's usageIdentifierKey, for
	// api_key_selection_expression $context.authorizer.usageIdentifierKey.
	UsageIdentifierKey string
	// Latency is how long the authorizer call took; 0 when no call was
	// made (missing identity, cached result).
	Latency time.Duration
	// Cached is true when the result came from the cache.
	Cached bool
}

// Allowed reports whether the connection may proceed (Status 200).
func (r *Result) Allowed() bool { return r.Status == http.StatusOK }

// Authorizer returns what later events of an admitted connection carry as
// requestContext.authorizer and context.authorizer.* (RT-40): the principal
// id, the call's latency and the context values. It is nil unless the
// result is Allowed.
func (r *Result) Authorizer() *integration.Authorizer {
	if !r.Allowed() {
		return nil
	}
	return &integration.Authorizer{PrincipalID: r.PrincipalID, IntegrationLatency: r.Latency, Context: r.Context}
}

// ResponseType returns the AWS gateway response type of a refusal, for
// context.error.responseType: UNAUTHORIZED (401), ACCESS_DENIED (403),
// AUTHORIZER_FAILURE (500), or "" when allowed.
func (r *Result) ResponseType() string {
	switch r.Status {
	case http.StatusUnauthorized:
		return integration.ResponseTypeUnauthorized
	case http.StatusForbidden:
		return integration.ResponseTypeAccessDenied
	case http.StatusOK:
		return ""
	}
	return integration.ResponseTypeAuthorizerFailure
}

// New compiles cfg for a stage with the given stage variables: the uri is
// rendered once (it may use stageVariables only, D-24) and must be an
// absolute http or https URL, and every identity source must be one of
// route.request.header.NAME, route.request.querystring.NAME,
// stageVariables.NAME or context.NAME.
func New(cfg *model.Authorizer, stageVariables map[string]string, opts Options) (*Authorizer, error) {
	if cfg == nil {
		return nil, errors.New("compile authorizer: no authorizer")
	}
	if cfg.Type != "" && cfg.Type != "REQUEST" {
		return nil, fmt.Errorf("compile authorizer %q: type %q is not REQUEST", cfg.Name, cfg.Type)
	}
	for _, p := range cfg.URI.Parts {
		if p.Ref != nil && p.Ref.Root != "stageVariables" {
			return nil, fmt.Errorf("compile authorizer %q: uri refers to %s, but only stageVariables are available", cfg.Name, p.Ref.Root)
		}
	}
	uri, err := integration.RenderURI(cfg.URI, &integration.Request{StageVariables: stageVariables})
	if err != nil {
		return nil, fmt.Errorf("compile authorizer %q: %w", cfg.Name, err)
	}
	a := &Authorizer{
		name:    cfg.Name,
		uri:     uri,
		timeout: DefaultTimeout,
		rt:      opts.Transport,
		region:  opts.Region,
		account: opts.Account,
		now:     opts.Now,
	}
	for _, s := range cfg.IdentitySources {
		src, err := parseIdentitySource(s, stageVariables)
		if err != nil {
			return nil, fmt.Errorf("compile authorizer %q: %w", cfg.Name, err)
		}
		a.sources = append(a.sources, src)
	}
	if cfg.TimeoutMS > 0 {
		a.timeout = time.Duration(cfg.TimeoutMS) * time.Millisecond
	}
	if cfg.ResultTTLSeconds > 0 && len(a.sources) > 0 {
		a.cache = newResultCache(time.Duration(cfg.ResultTTLSeconds)*time.Second, opts.CacheSize)
	}
	if a.rt == nil {
		a.rt = integration.SharedTransport()
	}
	if a.region == "" {
		a.region = DefaultRegion
	}
	if a.account == "" {
		a.account = DefaultAccount
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Name returns the authorizer's name.
func (a *Authorizer) Name() string { return a.name }

// URI returns the rendered uri the authorizer calls.
func (a *Authorizer) URI() string { return a.uri }

// Authorize decides the CONNECT request req (RT-50, D-45); the package
// documentation gives the steps. It always returns a Result; the error is
// non-nil exactly when Result.Status is 500, and says what failed, for
// logs. req is only read.
func (a *Authorizer) Authorize(ctx context.Context, req *integration.Request) (*Result, error) {
	values := make([]string, len(a.sources))
	for i := range a.sources {
		v := a.sources[i].resolve(req)
		if v == "" {
			return &Result{Status: http.StatusUnauthorized}, nil
		}
		values[i] = v
	}
	var key string
	if a.cache != nil {
		key = cacheKey(req.APIID, req.Stage, values)
		if r, ok := a.cache.get(key, a.now()); ok {
			r.Cached = true
			r.Latency = 0
			return &r, nil
		}
	}
	r, err := a.call(ctx, req)
	if err != nil {
		return r, fmt.Errorf("call authorizer %q: %w", a.name, err)
	}
	if a.cache != nil && (r.Status == http.StatusOK || r.Status == http.StatusForbidden) {
		a.cache.put(key, *r, a.now())
	}
	return r, nil
}

// call sends the event and maps the reply to a Result. err is non-nil
// exactly when the Result's status is 500.
func (a *Authorizer) call(ctx context.Context, req *integration.Request) (*Result, error) {
	start := time.Now()
	methodARN := MethodARN(a.region, a.account, req.APIID, req.Stage)
	body, err := encodeEvent(req, methodARN)
	if err != nil {
		return failed(start), fmt.Errorf("encode the event: %w", err)
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, a.timeout, ErrTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(callCtx, http.MethodPost, a.uri, bytes.NewReader(body))
	if err != nil {
		return failed(start), fmt.Errorf("build the request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := a.rt.RoundTrip(hreq)
	if err != nil {
		return failed(start), a.callError("send the event", err, ctx, callCtx)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, integration.MaxLambdaResultBytes+1))
	if err != nil {
		return failed(start), a.callError("read the reply", err, ctx, callCtx)
	}
	latency := time.Since(start)
	res := &Result{Latency: latency}

	if hresp.StatusCode == http.StatusUnauthorized {
		res.Status = http.StatusUnauthorized
		return res, nil
	}
	if hresp.Header.Get("X-Amz-Function-Error") != "" {
		return functionErrorResult(res, &functionError{message: functionErrorMessage(raw)})
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		res.Status = http.StatusInternalServerError
		return res, errors.New("the endpoint answered HTTP " + strconv.Itoa(hresp.StatusCode))
	}
	if len(raw) > integration.MaxLambdaResultBytes {
		res.Status = http.StatusInternalServerError
		return res, fmt.Errorf("the reply is larger than %d bytes", integration.MaxLambdaResultBytes)
	}
	p, err := parseReply(raw)
	if err != nil {
		var fe *functionError
		if errors.As(err, &fe) {
			return functionErrorResult(res, fe)
		}
		res.Status = http.StatusInternalServerError
		return res, err
	}
	res.PrincipalID = p.principalID
	switch EvaluatePolicy(p.policy, methodARN) {
	case Allow:
		res.Status = http.StatusOK
		res.Context = p.context
		res.UsageIdentifierKey = p.usageIdentifierKey
	default:
		res.Status = http.StatusForbidden
	}
	return res, nil
}

// functionErrorResult maps a function error: "Unauthorized" is 401, any
// other is 500 (D-45).
func functionErrorResult(res *Result, fe *functionError) (*Result, error) {
	if fe.message == unauthorizedMessage {
		res.Status = http.StatusUnauthorized
		return res, nil
	}
	res.Status = http.StatusInternalServerError
	return res, fe
}

// failed returns the 500 Result of a call that got no usable answer.
func failed(start time.Time) *Result {
	return &Result{Status: http.StatusInternalServerError, Latency: time.Since(start)}
}

// callError describes a transport failure: ErrTimeout when the authorizer's
// timeout_ms elapsed, the caller's context error when it ended first.
func (a *Authorizer) callError(action string, err error, ctx, callCtx context.Context) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: the caller gave up: %w", action, context.Cause(ctx))
	case callCtx.Err() != nil:
		return fmt.Errorf("%s: no answer within %s: %w", action, a.timeout, ErrTimeout)
	}
	return fmt.Errorf("%s: %w", action, err)
}
