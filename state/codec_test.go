package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsgwctl/wsgwctl/config/model"
)

func mustTemplate(t testing.TB, s string) model.Template {
	t.Helper()
	tp, err := model.ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// sampleState returns a valid state with one API, two deployments and two
// stages, using templates, maps and characters HTML escaping would touch.
func sampleState(t testing.TB) *State {
	t.Helper()
	integ := &model.Integration{
		Name:                "backend",
		Type:                model.IntegrationHTTP,
		URI:                 mustTemplate(t, "http://h/${stageVariables.room}/x?a=1&b=<2>"),
		Method:              "POST",
		TimeoutMS:           29000,
		RequestTemplates:    map[string]model.Template{"$default": mustTemplate(t, `{"id":"${context.connectionId}"}`)},
		PassthroughBehavior: model.PassthroughWhenNoMatch,
	}
	route := &model.Route{Key: "sendmessage", Integration: "backend", Authorization: model.AuthorizationNone}
	snap := model.DeploymentSnapshot{
		RouteSelectionExpression:  "$request.body.action",
		APIKeySelectionExpression: "$request.header.x-api-key",
		Routes:                    []*model.Route{route},
		Integrations:              []*model.Integration{integ},
	}
	snap2 := snap
	snap2.RouteSelectionExpression = "$request.body.type"
	return &State{
		Version: Version,
		Lineage: "5f0c6a3e-9d7b-4a51-8c3e-2b1d0f9e8a77",
		Serial:  7,
		APIs: []*API{{
			ID: "abc123xyz0",
			Config: &model.API{
				Name:                      "chat",
				Protocol:                  "WEBSOCKET",
				RouteSelectionExpression:  "$request.body.action",
				APIKeySelectionExpression: "$request.header.x-api-key",
				Routes:                    []*model.Route{route},
				Integrations:              []*model.Integration{integ},
				Stages: []*model.Stage{
					{Name: "prod", Variables: map[string]string{"room": "lobby"}, DefaultRouteSettings: model.DefaultRouteSettings()},
					{Name: "dev", DefaultRouteSettings: model.DefaultRouteSettings()},
				},
			},
			StageDeployments: map[string]string{"prod": "d-0000000001", "dev": "d-0000000002"},
			Deployments: []*Deployment{
				{ID: "d-0000000001", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Snapshot: snap},
				{ID: "d-0000000002", CreatedAt: time.Date(2025, 2, 2, 3, 4, 5, 0, time.UTC), TriggeredBy: []string{`api.chat.route["sendmessage"]`}, Snapshot: snap2},
			},
		}},
		APIKeys: []*model.APIKey{{Name: "k", Value: "secret<&>", Enabled: true}},
	}
}

func TestRoundTrip(t *testing.T) {
	st := sampleState(t)
	var first bytes.Buffer
	if err := Encode(&first, st); err != nil {
		t.Fatal(err)
	}
	out := first.Bytes()
	if !bytes.HasSuffix(out, []byte("}\n")) || bytes.HasSuffix(out, []byte("\n\n")) {
		t.Errorf("encoding does not end in exactly one newline: %q", out[len(out)-5:])
	}
	if !bytes.Contains(out, []byte("\n  \"lineage\"")) {
		t.Errorf("encoding is not indented with two spaces:\n%s", out)
	}
	if !bytes.Contains(out, []byte("secret<&>")) {
		t.Errorf("encoding escapes HTML characters:\n%s", out)
	}
	got, err := Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("decode(encode(s)) differs (-want +got):\n%s", diff)
	}
	again, err := Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, again) {
		t.Errorf("encoding is not deterministic:\n%s\n----\n%s", out, again)
	}
}

func TestDecodeErrors(t *testing.T) {
	valid, err := Marshal(sampleState(t))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(valid, []byte(old)) {
			t.Fatalf("fixture lacks %q", old)
		}
		return bytes.Replace(valid, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name     string
		data     []byte
		version  bool   // want *VersionError rather than *CorruptError
		problem  string // substring of the problem
		wantLine int    // 0: no position expected
	}{
		{name: "syntax error", data: []byte("{\n  \"version\": 1,\n  \"lineage\": ,\n}\n"), problem: "invalid character ','", wantLine: 3},
		{name: "truncated", data: valid[:len(valid)/2], problem: "unexpected end of JSON input"},
		{name: "truncated in a literal", data: []byte("{\"version\": 1,\n\"two_way\": tru"), problem: "the file looks truncated", wantLine: 2},
		{name: "empty", data: []byte("  \n"), problem: "the file is empty"},
		{name: "not an object", data: []byte("[1, 2]\n"), problem: "the document is a JSON array, not an object"},
		{name: "future version", data: replace(`"version": 1`, `"version": 2`), version: true},
		{name: "missing version", data: replace(`"version": 1,`, ``), problem: `"version" field is missing`},
		{name: "version not integer", data: replace(`"version": 1`, `"version": "1"`), problem: `not an integer`},
		{name: "version zero", data: replace(`"version": 1`, `"version": 0`), problem: `versions start at 1`},
		{name: "missing lineage", data: replace(`"lineage": "5f0c6a3e-9d7b-4a51-8c3e-2b1d0f9e8a77",`, ``), problem: `"lineage" field is missing`},
		{name: "serial zero", data: replace(`"serial": 7`, `"serial": 0`), problem: `"serial" field is 0`},
		{name: "serial wrong type", data: replace(`"serial": 7`, `"serial": "7"`), problem: "serial is a JSON string, not a non-negative integer", wantLine: 4},
		{name: "stage runs missing deployment", data: replace(`"prod": "d-0000000001"`, `"prod": "d-00000000ff"`), problem: `stage "prod" runs deployment "d-00000000ff", which is not in the API's deployment history`},
		{name: "api without id", data: replace(`"id": "abc123xyz0"`, `"id": ""`), problem: `api "chat" has no id`},
		{name: "null api", data: []byte(`{"version":1,"lineage":"x","serial":1,"apis":[null]}`), problem: "apis[0] is null"},
		{name: "bad template", data: replace(`${stageVariables.room}`, `${nope(x)}`), problem: "unknown template function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Decode(bytes.NewReader(tt.data))
			if st != nil {
				t.Errorf("Decode returned a state with error %v", err)
			}
			if tt.version {
				var ve *VersionError
				if !errors.As(err, &ve) {
					t.Fatalf("error %v (%T), want *VersionError", err, err)
				}
				if ve.Version != 2 || ve.Supported != Version {
					t.Errorf("VersionError = %+v", ve)
				}
				return
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CorruptError", err, err)
			}
			if !strings.Contains(ce.Problem, tt.problem) {
				t.Errorf("problem %q does not contain %q", ce.Problem, tt.problem)
			}
			if tt.wantLine != 0 && ce.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (error %v)", ce.Line, tt.wantLine, ce)
			}
		})
	}
}

func TestReadNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")

	t.Run("missing", func(t *testing.T) {
		st, err := Read(path)
		if st != nil || err != nil {
			t.Fatalf("Read of a missing file = %v, %v; want nil, nil", st, err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("{\"version\": 1,\n\"lineage\": tru"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("error %v (%T), want *CorruptError", err, err)
		}
		msg := err.Error()
		for _, want := range []string{"state file " + path + " is corrupt", "line 2, column", "will not overwrite", path + ".backup"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
	})
	t.Run("future version", func(t *testing.T) {
		if err := os.WriteFile(path, []byte(`{"version": 9, "something": "else"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		var ve *VersionError
		if !errors.As(err, &ve) {
			t.Fatalf("error %v (%T), want *VersionError", err, err)
		}
		msg := err.Error()
		for _, want := range []string{path, "format version 9", "version 1 at most", "Upgrade wsgwctl"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
	})
	t.Run("valid", func(t *testing.T) {
		want := sampleState(t)
		data, err := Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Read differs (-want +got):\n%s", diff)
		}
	})
}

func TestClone(t *testing.T) {
	orig := sampleState(t)
	c := orig.Clone()
	if diff := cmp.Diff(orig, c); diff != "" {
		t.Fatalf("clone differs (-orig +clone):\n%s", diff)
	}
	c.APIs[0].StageDeployments["prod"] = "d-0000000002"
	c.APIs[0].Deployments[0].Snapshot.Routes[0].Key = "changed"
	c.APIs[0].Config.Stages[0].Variables["room"] = "changed"
	if orig.APIs[0].StageDeployments["prod"] != "d-0000000001" ||
		orig.APIs[0].Deployments[0].Snapshot.Routes[0].Key != "sendmessage" ||
		orig.APIs[0].Config.Stages[0].Variables["room"] != "lobby" {
		t.Error("changing the clone changed the original")
	}
	if (*State)(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}

func TestLookups(t *testing.T) {
	st := sampleState(t)
	tests := []struct {
		name    string
		api     string
		deploy  string
		wantAPI bool
		wantDep bool
	}{
		{name: "both exist", api: "chat", deploy: "d-0000000002", wantAPI: true, wantDep: true},
		{name: "unknown deployment", api: "chat", deploy: "d-ffffffffff", wantAPI: true},
		{name: "unknown api", api: "other", deploy: "d-0000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := st.API(tt.api)
			if (api != nil) != tt.wantAPI {
				t.Fatalf("API(%q) = %v", tt.api, api)
			}
			d := api.Deployment(tt.deploy)
			if (d != nil) != tt.wantDep {
				t.Fatalf("Deployment(%q) = %v", tt.deploy, d)
			}
			if d != nil && d.ID != tt.deploy {
				t.Errorf("Deployment(%q).ID = %q", tt.deploy, d.ID)
			}
		})
	}
	if got := st.API("chat").Newest().ID; got != "d-0000000002" {
		t.Errorf("Newest = %s", got)
	}
	if (*State)(nil).API("chat") != nil {
		t.Error("API on a nil state is not nil")
	}
}

func TestNewIDs(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	apiID := regexp.MustCompile(`^[a-z0-9]{10}$`)
	lineages := map[string]bool{}
	ids := map[string]bool{}
	chars := map[rune]bool{}
	for range 200 {
		l := NewLineage()
		if !uuid.MatchString(l) {
			t.Fatalf("NewLineage() = %q, not a UUID v4", l)
		}
		lineages[l] = true
		id := NewAPIID()
		if !apiID.MatchString(id) {
			t.Fatalf("NewAPIID() = %q", id)
		}
		ids[id] = true
		for _, c := range id {
			chars[c] = true
		}
	}
	if len(lineages) != 200 || len(ids) != 200 {
		t.Errorf("ids repeat: %d lineages, %d api ids of 200", len(lineages), len(ids))
	}
	// 2000 draws from 36 characters: missing one has probability ~36·e^-55.
	if len(chars) != len(apiIDAlphabet) {
		t.Errorf("API ids used %d of %d characters", len(chars), len(apiIDAlphabet))
	}
}

func FuzzDecode(f *testing.F) {
	valid, err := Marshal(sampleState(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{"version":1,"lineage":"l","serial":1,"apis":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"lineage":"l","serial":1,"apis":[{"id":"a","config":{"name":"x"},"stage_deployments":{"s":"d"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Decode(bytes.NewReader(data))
		if err != nil {
			var ce *CorruptError
			var ve *VersionError
			if !errors.As(err, &ce) && !errors.As(err, &ve) {
				t.Fatalf("Decode error %v is %T", err, err)
			}
			return
		}
		out, err := Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-decoding an encoded state: %v", err)
		}
		if diff := cmp.Diff(st, again); diff != "" {
			t.Fatalf("decode(encode(decode(x))) differs:\n%s", diff)
		}
	})
}
