package runtime

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/apikey"
	"github.com/wsgwctl/wsgwctl/runtime/authorizer"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
	"github.com/wsgwctl/wsgwctl/runtime/observe"
	"github.com/wsgwctl/wsgwctl/runtime/sigv4"
	"github.com/wsgwctl/wsgwctl/runtime/throttle"
	"github.com/wsgwctl/wsgwctl/runtime/validation"
	"github.com/wsgwctl/wsgwctl/selection"
	"github.com/wsgwctl/wsgwctl/state"
)

// table is the compiled, immutable routing table of one applied state: every
// stage the state serves, with the deployment it runs, its integrations
// prepared for the stage's variables, its models, throttles, metrics and
// logs. The server holds the current table in an atomic pointer and swaps it
// whole on reload; nothing in a table is modified after compile returns.
type table struct {
	lineage string
	serial  uint64
	stages  map[stageKey]*stage
	// domains maps a lowercase host name to its base-path mappings (RT-1).
	domains map[string]map[string]*stage
	// order lists the stages sorted by API and stage name, for status output.
	order []*stage
	// verifier checks SigV4 signatures by the state's credentials; nil when
	// the state configures none, and the @connections API then accepts
	// loopback callers only (D-28).
	verifier *sigv4.Verifier
	// keys are the state's API keys and usage plans (RT-51).
	keys *apikey.Keys
	// certs are the domain names' certificates by lowercase host, chosen
	// by SNI (RT-1, see TLSConfig).
	certs map[string]*tls.Certificate
	// buckets are the token buckets the table's stages and routes need,
	// taken from the server's throttle.Set only once the whole table has
	// compiled (see bindBuckets).
	buckets []bucketRef
}

// bucketRef is a token bucket a table needs: where it goes, and the Set key
// and settings it is taken with.
type bucketRef struct {
	dst   **throttle.Bucket
	key   string
	rate  float64
	burst int
}

// stageKey names a stage: its API's name and its own name.
type stageKey struct {
	api, stage string
}

func (k stageKey) String() string { return k.api + "/" + k.stage }

// stage is one served stage and the deployment it runs.
type stage struct {
	key          stageKey
	apiID        string
	deploymentID string
	variables    map[string]string

	routeSelection *selection.Expr
	routes         map[string]*route
	connect        *route
	disconnect     *route
	fallback       *route // $default

	// connectBucket throttles handshakes (D-41): the $connect route's
	// settings, whether or not the stage has a $connect route.
	connectBucket *throttle.Bucket
	metrics       *observe.StageMetrics
	// noRoute counts messages that match no route (Forbidden).
	noRoute   *observe.RouteMetrics
	accessLog *observe.AccessLog
	// connExec and disconnExec log the CONNECT and DISCONNECT events by the
	// $connect and $disconnect routes' settings, whether or not the stage
	// has those routes; noRouteExec logs messages that match no route, by
	// the stage's default_route_settings.
	connExec    observe.ExecLog
	disconnExec observe.ExecLog
	noRouteExec observe.ExecLog

	// authorizer is the $connect route's CUSTOM authorizer (RT-50), iam
	// whether it requires AWS_IAM (RT-52), and apiKeyRequired whether it
	// requires an API key (RT-51) selected by apiKeySelection.
	authorizer      *authorizer.Authorizer
	iam             bool
	apiKeyRequired  bool
	apiKeySelection *selection.Expr
	// keys and verifier are the table's (every stage of a table shares
	// them): API keys and usage plans, and the SigV4 verifier of the
	// configured credentials (nil without credentials).
	keys     *apikey.Keys
	verifier *sigv4.Verifier
}

// route is a route of a deployment, compiled for one stage.
type route struct {
	key string
	// integration is nil when the route has none.
	integration *integration.Prepared
	// integrationType is the integration's type ("" without one).
	integrationType string
	twoWay          bool
	// validator checks messages against the route's request models (RT-23);
	// nil accepts everything.
	validator *validation.RouteValidator
	bucket    *throttle.Bucket
	metrics   *observe.RouteMetrics
	exec      observe.ExecLog
}

// compile builds the routing table of st. A state whose stages cannot be
// served (a deployment missing from history, a selection expression or model
// that does not compile, an integration that does not prepare, an access log
// that cannot be opened) is an error naming the object; the caller keeps the
// old table.
func (s *Server) compile(st *state.State) (*table, error) {
	t := &table{
		stages:  map[stageKey]*stage{},
		domains: map[string]map[string]*stage{},
	}
	if st == nil {
		return t, nil
	}
	t.lineage, t.serial = st.Lineage, st.Serial
	if len(st.Credentials) > 0 {
		creds := make([]sigv4.Credential, 0, len(st.Credentials))
		for _, c := range st.Credentials {
			creds = append(creds, sigv4.Credential{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
		}
		t.verifier = sigv4.New(creds, s.opts.Now)
	}
	certs, err := loadDomainCerts(st.DomainNames, s.opts.Dir)
	if err != nil {
		return nil, err
	}
	t.certs = certs
	for _, api := range st.APIs {
		if api == nil || api.Config == nil {
			continue
		}
		// Deployments are shared by the stages that run them.
		compiled := map[string]*deploymentRoutes{}
		for _, stCfg := range api.Config.Stages {
			id := api.StageDeployments[stCfg.Name]
			if id == "" {
				// Applied without a deployment (no routes yet): nothing to serve.
				continue
			}
			dr, ok := compiled[id]
			if !ok {
				d := api.Deployment(id)
				if d == nil {
					return nil, fmt.Errorf("%s: stage %q runs deployment %s, which is not in the state's history", model.APIAddress(api.Config.Name), stCfg.Name, id)
				}
				var err error
				if dr, err = compileDeployment(&d.Snapshot); err != nil {
					return nil, fmt.Errorf("%s: deployment %s: %w", model.APIAddress(api.Config.Name), id, err)
				}
				compiled[id] = dr
			}
			sg, err := s.compileStage(t, api, stCfg, id, dr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", model.StageAddress(api.Config.Name, stCfg.Name), err)
			}
			t.stages[sg.key] = sg
			t.order = append(t.order, sg)
		}
	}
	t.bindBuckets(&s.throttles)
	// API keys take their buckets and quota counters last, once everything
	// else compiled.
	keys, err := apikey.Compile(st.APIKeys, st.UsagePlans, &s.throttles, &s.quotas)
	if err != nil {
		return nil, err
	}
	t.keys = keys
	for _, sg := range t.order {
		sg.keys, sg.verifier = keys, t.verifier
	}
	sort.Slice(t.order, func(i, j int) bool {
		a, b := t.order[i].key, t.order[j].key
		if a.api != b.api {
			return a.api < b.api
		}
		return a.stage < b.stage
	})
	for _, dn := range st.DomainNames {
		if dn == nil {
			continue
		}
		host := strings.ToLower(dn.Host)
		for _, m := range dn.Mappings {
			sg := t.stages[stageKey{m.API, m.Stage}]
			if sg == nil {
				continue
			}
			if t.domains[host] == nil {
				t.domains[host] = map[string]*stage{}
			}
			t.domains[host][strings.Trim(m.BasePath, "/")] = sg
		}
	}
	return t, nil
}

// compileStage compiles a deployment for one stage: integrations prepared
// with the stage's variables (resolved once per reload, not per message),
// the stage's throttles, metrics and logs.
func (s *Server) compileStage(t *table, api *state.API, cfg *model.Stage, deploymentID string, dr *deploymentRoutes) (*stage, error) {
	key := stageKey{api.Config.Name, cfg.Name}
	sg := &stage{
		key:             key,
		apiID:           api.ID,
		deploymentID:    deploymentID,
		variables:       cfg.Variables,
		routeSelection:  dr.routeSelection,
		routes:          make(map[string]*route, len(dr.routes)),
		iam:             dr.iam,
		apiKeyRequired:  dr.apiKeyRequired,
		apiKeySelection: dr.apiKeySelection,
	}
	if dr.connectAuthorizer != nil {
		a, err := authorizer.New(dr.connectAuthorizer, cfg.Variables, authorizer.Options{
			Transport: s.opts.Transport,
			Region:    s.opts.Region,
			Account:   s.opts.Account,
			Now:       s.opts.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", model.AuthorizerAddress(key.api, dr.connectAuthorizer.Name), err)
		}
		sg.authorizer = a
	}
	keys := make([]string, 0, len(dr.routes))
	for _, r := range dr.routes {
		keys = append(keys, r.Key)
	}
	sort.Strings(keys)
	sg.metrics = s.metrics.Stage(key.api, cfg, keys)
	sg.noRoute = sg.metrics.Route("")
	al, err := s.accessLogs.Stage(s.accessLogConfig(cfg.AccessLog))
	if err != nil {
		return nil, fmt.Errorf("access_log: %w", err)
	}
	sg.accessLog = al
	sg.connExec = observe.ExecLogFor(s.log, cfg, model.RouteConnect)
	sg.disconnExec = observe.ExecLogFor(s.log, cfg, model.RouteDisconnect)
	sg.noRouteExec = observe.NewExecLog(s.log, cfg.DefaultRouteSettings)
	t.bucket(&sg.connectBucket, api.ID, cfg, model.RouteConnect)

	for _, r := range dr.routes {
		cr := &route{
			key:       r.Key,
			twoWay:    r.TwoWay,
			validator: dr.validators[r.Key],
			metrics:   sg.metrics.Route(r.Key),
			exec:      observe.ExecLogFor(s.log, cfg, r.Key),
		}
		t.bucket(&cr.bucket, api.ID, cfg, r.Key)
		if in := dr.integrations[r.Key]; in != nil {
			p, err := s.invoker.Prepare(in, cfg.Variables)
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", r.Key, err)
			}
			cr.integration, cr.integrationType = p, in.Type
		}
		sg.routes[r.Key] = cr
	}
	sg.connect = sg.routes[model.RouteConnect]
	sg.disconnect = sg.routes[model.RouteDisconnect]
	sg.fallback = sg.routes[model.RouteDefault]
	return sg, nil
}

// bucket records that *dst is the token bucket of a route of a stage
// (RT-25, D-41), configured by the route's settings or else the stage's
// defaults; bindBuckets sets it.
func (t *table) bucket(dst **throttle.Bucket, apiID string, cfg *model.Stage, routeKey string) {
	rs, ok := cfg.RouteSettings[routeKey]
	if !ok {
		rs = cfg.DefaultRouteSettings
	}
	t.buckets = append(t.buckets, bucketRef{
		dst:   dst,
		key:   apiID + "/" + cfg.Name + "/" + routeKey,
		rate:  rs.ThrottlingRateLimit,
		burst: rs.ThrottlingBurstLimit,
	})
}

// bindBuckets takes the buckets the table needs from set, which keeps a
// bucket's tokens across reloads while its settings stay the same. It runs
// only for a table that compiled: a state that fails to load must not
// replace the buckets of the state still served, or reloading the served
// settings afterwards would refill them.
func (t *table) bindBuckets(set *throttle.Set) {
	for _, b := range t.buckets {
		*b.dst = set.Get(b.key, b.rate, b.burst)
	}
	t.buckets = nil
}

// deploymentRoutes is the compiled, stage-independent content of one
// deployment.
type deploymentRoutes struct {
	routeSelection *selection.Expr
	routes         []*model.Route
	// integrations and validators are by route key.
	integrations map[string]*model.Integration
	validators   map[string]*validation.RouteValidator
	// connectAuthorizer, iam and apiKeyRequired are the $connect route's
	// authorization (D-26); apiKeySelection selects the key.
	connectAuthorizer *model.Authorizer
	iam               bool
	apiKeyRequired    bool
	apiKeySelection   *selection.Expr
}

func compileDeployment(d *model.DeploymentSnapshot) (*deploymentRoutes, error) {
	expr, err := selection.Parse(d.RouteSelectionExpression, selection.Body)
	if err != nil {
		return nil, fmt.Errorf("route_selection_expression %q: %w", d.RouteSelectionExpression, err)
	}
	models, err := validation.Compile(d.Models)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*model.Integration, len(d.Integrations))
	for _, in := range d.Integrations {
		byName[in.Name] = in
	}
	dr := &deploymentRoutes{
		routeSelection: expr,
		routes:         d.Routes,
		integrations:   map[string]*model.Integration{},
		validators:     map[string]*validation.RouteValidator{},
	}
	for _, r := range d.Routes {
		if r.Integration != "" {
			in, ok := byName[r.Integration]
			if !ok {
				return nil, fmt.Errorf("route %q uses integration %q, which the deployment does not contain", r.Key, r.Integration)
			}
			dr.integrations[r.Key] = in
		}
		if r.ModelSelectionExpression != "" {
			mexpr, err := selection.Parse(r.ModelSelectionExpression, selection.Body)
			if err != nil {
				return nil, fmt.Errorf("route %q: model_selection_expression %q: %w", r.Key, r.ModelSelectionExpression, err)
			}
			dr.validators[r.Key] = models.ForRoute(mexpr, r.RequestModels)
		}
		if r.Key == model.RouteConnect {
			switch r.Authorization {
			case model.AuthorizationCustom:
				for _, a := range d.Authorizers {
					if a.Name == r.Authorizer {
						dr.connectAuthorizer = a
					}
				}
				if dr.connectAuthorizer == nil {
					return nil, fmt.Errorf("route %q uses authorizer %q, which the deployment does not contain", r.Key, r.Authorizer)
				}
			case model.AuthorizationIAM:
				dr.iam = true
			}
			if r.APIKeyRequired {
				dr.apiKeyRequired = true
				expr, err := selection.Parse(d.APIKeySelectionExpression, selection.APIKey)
				if err != nil {
					return nil, fmt.Errorf("api_key_selection_expression %q: %w", d.APIKeySelectionExpression, err)
				}
				dr.apiKeySelection = expr
			}
		}
	}
	return dr, nil
}

// accessLogConfig returns cfg with a relative file destination resolved
// against Options.Dir (the configuration directory, where the user wrote
// it relative to).
func (s *Server) accessLogConfig(cfg *model.AccessLog) *model.AccessLog {
	if cfg == nil || cfg.Destination == observe.DestinationStdout || cfg.Destination == observe.DestinationStderr {
		return cfg
	}
	c := *cfg
	c.Destination = resolve(s.opts.Dir, c.Destination)
	return &c
}

// lookupPath finds the stage a request path names: /{api}/{stage} exactly.
func (t *table) lookupPath(apiName, stageName string) *stage {
	return t.stages[stageKey{apiName, stageName}]
}

// lookupDomain finds the stage a custom domain mapping serves for host and
// the request path (without its leading slash).
func (t *table) lookupDomain(host, path string) *stage {
	if len(t.domains) == 0 {
		return nil
	}
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	m := t.domains[strings.ToLower(host)]
	if m == nil {
		return nil
	}
	return m[strings.Trim(path, "/")]
}

// handles returns the metrics and access logs the table uses, for the
// Retain calls that let the others go.
func (t *table) handles() ([]*observe.StageMetrics, []*observe.AccessLog) {
	var ms []*observe.StageMetrics
	var ls []*observe.AccessLog
	for _, sg := range t.order {
		ms = append(ms, sg.metrics)
		if sg.accessLog != nil {
			ls = append(ls, sg.accessLog)
		}
	}
	return ms, ls
}
