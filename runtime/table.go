package runtime

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
	"github.com/wsgwctl/wsgwctl/state"
)

// table is the compiled, immutable routing table of one applied state: every
// stage the state serves, with the deployment it runs. The server holds the
// current table in an atomic pointer and swaps it whole on reload; nothing in
// a table is modified after compile returns.
type table struct {
	lineage string
	serial  uint64
	stages  map[stageKey]*stage
	// domains maps a lowercase host name to its base-path mappings (RT-1).
	domains map[string]map[string]*stage
	// order lists the stages sorted by API and stage name, for status output.
	order []*stage
	// hasCredentials is true when the state configures credentials, which
	// the @connections API then requires (D-28).
	hasCredentials bool
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

	// refuse, when not empty, is why handshakes to this stage are refused:
	// the stage's $connect route needs something this build does not serve
	// yet (an authorizer, API keys, IAM authorization). Refusing keeps such a
	// stage closed instead of serving it unprotected.
	refuse string
}

// route is a compiled route of a deployment.
type route struct {
	key string
	// integration is nil when the route has none.
	integration *model.Integration
	twoWay      bool
}

// compile builds the routing table of st. A state whose stages cannot be
// served (a deployment missing from history, a selection expression that
// does not parse) is an error naming the object; the caller keeps the old
// table.
func compile(st *state.State) (*table, error) {
	t := &table{
		stages:  map[stageKey]*stage{},
		domains: map[string]map[string]*stage{},
	}
	if st == nil {
		return t, nil
	}
	t.lineage, t.serial = st.Lineage, st.Serial
	t.hasCredentials = len(st.Credentials) > 0
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
			s := &stage{
				key:            stageKey{api.Config.Name, stCfg.Name},
				apiID:          api.ID,
				deploymentID:   id,
				variables:      stCfg.Variables,
				routeSelection: dr.routeSelection,
				routes:         dr.routes,
				connect:        dr.routes[model.RouteConnect],
				disconnect:     dr.routes[model.RouteDisconnect],
				fallback:       dr.routes[model.RouteDefault],
				refuse:         dr.refuse,
			}
			t.stages[s.key] = s
			t.order = append(t.order, s)
		}
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
			s := t.stages[stageKey{m.API, m.Stage}]
			if s == nil {
				continue
			}
			if t.domains[host] == nil {
				t.domains[host] = map[string]*stage{}
			}
			t.domains[host][strings.Trim(m.BasePath, "/")] = s
		}
	}
	return t, nil
}

// deploymentRoutes is the compiled content of one deployment.
type deploymentRoutes struct {
	routeSelection *selection.Expr
	routes         map[string]*route
	refuse         string
}

func compileDeployment(d *model.DeploymentSnapshot) (*deploymentRoutes, error) {
	expr, err := selection.Parse(d.RouteSelectionExpression, selection.Body)
	if err != nil {
		return nil, fmt.Errorf("route_selection_expression %q: %w", d.RouteSelectionExpression, err)
	}
	integrations := make(map[string]*model.Integration, len(d.Integrations))
	for _, in := range d.Integrations {
		integrations[in.Name] = in
	}
	dr := &deploymentRoutes{routeSelection: expr, routes: make(map[string]*route, len(d.Routes))}
	for _, r := range d.Routes {
		cr := &route{key: r.Key, twoWay: r.TwoWay}
		if r.Integration != "" {
			in, ok := integrations[r.Integration]
			if !ok {
				return nil, fmt.Errorf("route %q uses integration %q, which the deployment does not contain", r.Key, r.Integration)
			}
			cr.integration = in
		}
		if r.Key == model.RouteConnect {
			switch {
			case r.Authorization == model.AuthorizationCustom:
				dr.refuse = fmt.Sprintf("the $connect route uses authorizer %q; CUSTOM authorizers are not served by this build", r.Authorizer)
			case r.Authorization == model.AuthorizationIAM:
				dr.refuse = "the $connect route uses AWS_IAM authorization, which this build does not serve"
			case r.APIKeyRequired:
				dr.refuse = "the $connect route requires an API key, which this build does not check"
			}
		}
		dr.routes[r.Key] = cr
	}
	return dr, nil
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
