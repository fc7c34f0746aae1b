package backend

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Connection ids shaped like the gateway's (RT-14), with characters the SDK
// percent-encodes in the @connections path.
const (
	alice  = "YWxpY2UtY29ubg="
	bob    = "Ym9iLWNvbm4tMDE="
	carol  = "Y2Fyb2wtY29ubg="
	alice2 = "YWxpY2UtdGFiMg="
)

// stagePath is the path of the @connections base URL the tests give New.
const stagePath = "/chat/dev"

// fakeGateway is an @connections endpoint that records what it is sent and
// answers 410 GoneException for the connections marked gone.
type fakeGateway struct {
	srv *httptest.Server

	mu       sync.Mutex
	posts    map[string][]json.RawMessage
	gone     map[string]bool
	failing  map[string]bool
	problems []string
	// onPost, when set, runs for every accepted post before it is answered.
	onPost func(conn string)
}

func newFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	g := &fakeGateway{posts: make(map[string][]json.RawMessage), gone: make(map[string]bool), failing: make(map[string]bool)}
	t.Cleanup(func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, p := range g.problems {
			t.Errorf("fake gateway: %s", p)
		}
	})
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) problem(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.problems = append(g.problems, fmt.Sprintf(format, args...))
}

// serve accepts POST {stage}/@connections/{id}, with the @ as is or
// percent-encoded and the id decoded or percent-encoded.
func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), stagePath+"/")
	var escaped string
	if ok {
		escaped, ok = strings.CutPrefix(rest, "@connections/")
		if !ok {
			escaped, ok = strings.CutPrefix(rest, "%40connections/")
		}
	}
	id, err := url.PathUnescape(escaped)
	if !ok || err != nil || r.Method != http.MethodPost {
		g.problem("unexpected request %s %s", r.Method, r.URL.EscapedPath())
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		g.problem("post to %s is not SigV4-signed", id)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		g.problem("read body: %v", err)
		return
	}
	g.mu.Lock()
	if g.gone[id] {
		g.posts[id] = append(g.posts[id], nil)
		g.mu.Unlock()
		w.Header().Set("x-amzn-ErrorType", "GoneException")
		w.WriteHeader(http.StatusGone)
		return
	}
	if g.failing[id] {
		g.posts[id] = append(g.posts[id], nil)
		g.mu.Unlock()
		w.Header().Set("x-amzn-ErrorType", "InternalServerErrorException")
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	g.posts[id] = append(g.posts[id], body)
	hook := g.onPost
	g.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	w.WriteHeader(http.StatusOK)
}

// setGone makes every later post to conn answer GoneException.
func (g *fakeGateway) setGone(conn string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gone[conn] = true
}

// setFailing makes every later post to conn answer 500.
func (g *fakeGateway) setFailing(conn string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing[conn] = true
}

// take returns and forgets everything posted so far, decoded, by
// connection. A post answered with GoneException is a nil map.
func (g *fakeGateway) take(t *testing.T) map[string][]map[string]any {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	got := make(map[string][]map[string]any)
	for conn, bodies := range g.posts {
		for _, b := range bodies {
			var v map[string]any
			if b != nil {
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatalf("post to %s is not a JSON object: %v: %s", conn, err, b)
				}
			}
			got[conn] = append(got[conn], v)
		}
	}
	clear(g.posts)
	return got
}

// harness drives a Server with requests shaped like the gateway's
// HTTP_PROXY calls for chat.wsgw.hcl.
type harness struct {
	t  *testing.T
	s  *Server
	gw *fakeGateway
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	gw := newFakeGateway(t)
	opts.Gateway = gw.srv.URL + stagePath
	opts.HTTPClient = gw.srv.Client()
	s := New(opts)
	s.now = func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	return &harness{t: t, s: s, gw: gw}
}

// call makes one request and returns its status and decoded JSON body (nil
// when the body is empty).
func (h *harness) call(target string, header http.Header, body string) (int, map[string]any) {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	h.s.ServeHTTP(rec, req)
	if rec.Body.Len() == 0 {
		return rec.Code, nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("POST %s: Content-Type = %q, want application/json", target, ct)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		h.t.Fatalf("POST %s: reply is not a JSON object: %v: %s", target, err, rec.Body)
	}
	return rec.Code, v
}

// connect makes the $connect call, with handshake headers as the gateway
// forwards them and the query string it appends (D-43).
func (h *harness) connect(conn, user string) (int, map[string]any) {
	h.t.Helper()
	header := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		"Sec-Websocket-Version": {"13"},
		"X-Connection-Id":       {conn},
	}
	target := "/connect"
	if user != "" {
		header.Set("X-Chat-User", user)
		target += "?user=" + url.QueryEscape(user)
	}
	return h.call(target, header, "")
}

func (h *harness) mustConnect(conn, user string) {
	h.t.Helper()
	if status, body := h.connect(conn, user); status != http.StatusNoContent {
		h.t.Fatalf("connect %s as %s: status %d, body %v", conn, user, status, body)
	}
}

func (h *harness) join(conn, room string) (int, map[string]any) {
	h.t.Helper()
	body := fmt.Sprintf(`{"action":"joinroom","room":%q}`, room)
	return h.call("/rooms/join?room="+url.QueryEscape(room), http.Header{"X-Connection-Id": {conn}}, body)
}

func (h *harness) mustJoin(conn, room string) map[string]any {
	h.t.Helper()
	status, reply := h.join(conn, room)
	if status != http.StatusOK {
		h.t.Fatalf("join %s to %s: status %d, body %v", conn, room, status, reply)
	}
	return reply
}

func (h *harness) send(conn, room, text, requestID string) (int, map[string]any) {
	h.t.Helper()
	body := fmt.Sprintf(`{"action":"sendmessage","room":%q,"text":%q}`, room, text)
	return h.call("/messages", http.Header{"X-Connection-Id": {conn}, "X-Request-Id": {requestID}}, body)
}

func (h *harness) disconnect(conn string) int {
	h.t.Helper()
	status, body := h.call("/disconnect", http.Header{"X-Connection-Id": {conn}, "X-Forwarded-For": {""}}, "")
	if body != nil {
		h.t.Errorf("disconnect %s answered a body: %v", conn, body)
	}
	return status
}

// recipients returns the connections in posts, sorted.
func recipients(posts map[string][]map[string]any) []string {
	return slices.Sorted(maps.Keys(posts))
}

func TestConnect(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		header     http.Header
		wantStatus int
	}{
		{"user header", "/connect?user=alice", http.Header{"X-Connection-Id": {alice}, "X-Chat-User": {"alice"}}, http.StatusNoContent},
		{"user from query only", "/connect?user=alice", http.Header{"X-Connection-Id": {alice}}, http.StatusNoContent},
		{"empty user header", "/connect", http.Header{"X-Connection-Id": {alice}, "X-Chat-User": {""}}, http.StatusBadRequest},
		{"no user", "/connect", http.Header{"X-Connection-Id": {alice}}, http.StatusBadRequest},
		{"user too long", "/connect", http.Header{"X-Connection-Id": {alice}, "X-Chat-User": {strings.Repeat("a", 33)}}, http.StatusBadRequest},
		{"user with space", "/connect", http.Header{"X-Connection-Id": {alice}, "X-Chat-User": {"al ice"}}, http.StatusBadRequest},
		{"no connection id", "/connect?user=alice", http.Header{"X-Chat-User": {"alice"}}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			status, body := h.call(tt.target, tt.header, "")
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %v)", status, tt.wantStatus, body)
			}
			if status >= 400 && (body["type"] != "error" || body["message"] == "") {
				t.Errorf("rejection body = %v, want an error document", body)
			}
			// Only an accepted connection can join a room.
			wantJoin := http.StatusNotFound
			if status < 300 {
				wantJoin = http.StatusOK
			}
			if got, reply := h.join(alice, "general"); got != wantJoin {
				t.Errorf("join after connect: status %d, want %d (body %v)", got, wantJoin, reply)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
	}{
		{"GET on a route", http.MethodGet, "/messages", http.StatusMethodNotAllowed},
		{"unknown path", http.MethodPost, "/nowhere", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			rec := httptest.NewRecorder()
			h.s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
		})
	}
}

// TestTwoRoomsThreeUsers checks presence on join and that each message
// reaches exactly the other members of its room.
func TestTwoRoomsThreeUsers(t *testing.T) {
	h := newHarness(t, Options{})
	h.mustConnect(alice, "alice")
	h.mustConnect(bob, "bob")
	h.mustConnect(carol, "carol")

	joins := []struct {
		conn, room   string
		wantMembers  []any
		wantNotified []string
	}{
		{alice, "general", []any{"alice"}, nil},
		{bob, "general", []any{"alice", "bob"}, []string{alice}},
		{carol, "random", []any{"carol"}, nil},
		{bob, "random", []any{"bob", "carol"}, []string{carol}},
		// Joining again answers again and tells nobody.
		{bob, "random", []any{"bob", "carol"}, nil},
	}
	for _, j := range joins {
		t.Run("join "+userOf(j.conn)+" "+j.room, func(t *testing.T) {
			reply := h.mustJoin(j.conn, j.room)
			want := map[string]any{"type": "joined", "room": j.room, "members": j.wantMembers, "history": []any{}}
			if diff := cmp.Diff(want, reply); diff != "" {
				t.Errorf("join reply (-want +got):\n%s", diff)
			}
			posts := h.gw.take(t)
			if diff := cmp.Diff(j.wantNotified, recipients(posts), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("presence recipients (-want +got):\n%s", diff)
			}
			for _, conn := range j.wantNotified {
				wantPresence := []map[string]any{{"type": "presence", "room": j.room, "user": userOf(j.conn), "event": "joined", "members": j.wantMembers}}
				if diff := cmp.Diff(wantPresence, posts[conn]); diff != "" {
					t.Errorf("presence to %s (-want +got):\n%s", conn, diff)
				}
			}
		})
	}

	messages := []struct {
		from, room, text string
		wantRecipients   []string
	}{
		{alice, "general", "hello general", []string{bob}},
		{bob, "general", "hi alice", []string{alice}},
		{carol, "random", "anyone?", []string{bob}},
		{bob, "random", "me", []string{carol}},
	}
	for i, m := range messages {
		t.Run("send "+userOf(m.from)+" "+m.room, func(t *testing.T) {
			requestID := fmt.Sprintf("req-%d=", i)
			status, ack := h.send(m.from, m.room, m.text, requestID)
			if status != http.StatusOK {
				t.Fatalf("send: status %d, body %v", status, ack)
			}
			id, _ := ack["id"].(string)
			wantAck := map[string]any{"type": "ack", "id": id, "room": m.room, "sentAt": "2025-03-01T12:00:00Z", "requestId": requestID}
			if id == "" {
				t.Errorf("ack has no id: %v", ack)
			}
			if diff := cmp.Diff(wantAck, ack); diff != "" {
				t.Errorf("ack (-want +got):\n%s", diff)
			}
			posts := h.gw.take(t)
			if diff := cmp.Diff(m.wantRecipients, recipients(posts)); diff != "" {
				t.Fatalf("recipients (-want +got):\n%s", diff)
			}
			wantMsg := []map[string]any{{"type": "message", "room": m.room, "from": userOf(m.from), "text": m.text, "id": id, "sentAt": "2025-03-01T12:00:00Z"}}
			for _, conn := range m.wantRecipients {
				if diff := cmp.Diff(wantMsg, posts[conn]); diff != "" {
					t.Errorf("message to %s (-want +got):\n%s", conn, diff)
				}
			}
		})
	}
}

func userOf(conn string) string {
	switch conn {
	case alice, alice2:
		return "alice"
	case bob:
		return "bob"
	case carol:
		return "carol"
	}
	return conn
}

func TestHistoryOnJoin(t *testing.T) {
	tests := []struct {
		name        string
		historySize int
		sent        int
		wantFirst   int // number of the first message in the history
	}{
		{"fewer than the bound", 0, 3, 1},
		{"default bound", 0, 25, 6},
		{"small bound", 3, 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{HistorySize: tt.historySize})
			h.mustConnect(alice, "alice")
			h.mustConnect(bob, "bob")
			h.mustJoin(alice, "general")
			var ids []string
			for i := 1; i <= tt.sent; i++ {
				status, ack := h.send(alice, "general", fmt.Sprintf("message %d", i), "")
				if status != http.StatusOK {
					t.Fatalf("send %d: status %d, body %v", i, status, ack)
				}
				ids = append(ids, ack["id"].(string))
			}
			if got := len(slices.Compact(slices.Clone(ids))); got != tt.sent {
				t.Fatalf("ids %q are not unique", ids)
			}
			var want []any
			for i := tt.wantFirst; i <= tt.sent; i++ {
				want = append(want, map[string]any{
					"type": "message", "room": "general", "from": "alice", "text": fmt.Sprintf("message %d", i),
					"id": ids[i-1], "sentAt": "2025-03-01T12:00:00Z",
				})
			}
			reply := h.mustJoin(bob, "general")
			if diff := cmp.Diff(want, reply["history"]); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendRejected(t *testing.T) {
	tests := []struct {
		name       string
		header     http.Header
		body       string
		wantStatus int
	}{
		{"not a member of the room", http.Header{"X-Connection-Id": {carol}}, `{"action":"sendmessage","room":"general","text":"psst"}`, http.StatusForbidden},
		{"room nobody joined", http.Header{"X-Connection-Id": {alice}}, `{"action":"sendmessage","room":"empty","text":"hi"}`, http.StatusForbidden},
		{"unknown connection", http.Header{"X-Connection-Id": {"bm9ib2R5LWF0LWFsbA="}}, `{"action":"sendmessage","room":"general","text":"hi"}`, http.StatusNotFound},
		{"no connection id", nil, `{"action":"sendmessage","room":"general","text":"hi"}`, http.StatusBadRequest},
		{"empty text", http.Header{"X-Connection-Id": {alice}}, `{"action":"sendmessage","room":"general","text":""}`, http.StatusBadRequest},
		{"bad room", http.Header{"X-Connection-Id": {alice}}, `{"action":"sendmessage","room":"General!","text":"hi"}`, http.StatusBadRequest},
		{"not JSON", http.Header{"X-Connection-Id": {alice}}, `hello`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.mustConnect(alice, "alice")
			h.mustConnect(bob, "bob")
			h.mustConnect(carol, "carol")
			h.mustJoin(alice, "general")
			h.mustJoin(bob, "general")
			h.mustJoin(carol, "random")
			h.gw.take(t)

			status, reply := h.call("/messages", tt.header, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %v)", status, tt.wantStatus, reply)
			}
			if msg, _ := reply["message"].(string); reply["type"] != "error" || msg == "" {
				t.Errorf("reply = %v, want an error document", reply)
			}
			if posts := h.gw.take(t); len(posts) != 0 {
				t.Errorf("a rejected message was broadcast: %v", posts)
			}
			if history := h.mustJoin(carol, "general")["history"]; !cmp.Equal(history, []any{}) {
				t.Errorf("a rejected message is in the history: %v", history)
			}
		})
	}
}

func TestJoinRejected(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		conn       string
		body       string
		wantStatus int
	}{
		{"unknown connection", "/rooms/join?room=general", "bm9ib2R5LWF0LWFsbA=", `{"action":"joinroom","room":"general"}`, http.StatusNotFound},
		{"bad room", "/rooms/join?room=No%20Way", alice, `{"action":"joinroom","room":"No Way"}`, http.StatusBadRequest},
		{"no room", "/rooms/join", alice, `{"action":"joinroom"}`, http.StatusBadRequest},
		{"not JSON", "/rooms/join?room=general", alice, `general`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.mustConnect(alice, "alice")
			status, reply := h.call(tt.target, http.Header{"X-Connection-Id": {tt.conn}}, tt.body)
			if status != tt.wantStatus || reply["type"] != "error" {
				t.Errorf("status = %d, body %v; want %d and an error document", status, reply, tt.wantStatus)
			}
		})
	}
}

func TestJoinRoomFromBody(t *testing.T) {
	h := newHarness(t, Options{})
	h.mustConnect(alice, "alice")
	status, reply := h.call("/rooms/join", http.Header{"X-Connection-Id": {alice}}, `{"action":"joinroom","room":"lobby"}`)
	if status != http.StatusOK || reply["room"] != "lobby" {
		t.Errorf("status = %d, body %v; want 200 joined lobby", status, reply)
	}
}

// TestGoneMemberIsRemoved checks that a recipient the gateway reports gone
// leaves every room, and that the rooms hear about it.
func TestGoneMemberIsRemoved(t *testing.T) {
	h := newHarness(t, Options{})
	h.mustConnect(alice, "alice")
	h.mustConnect(bob, "bob")
	h.mustConnect(carol, "carol")
	h.mustJoin(alice, "general")
	h.mustJoin(bob, "general")
	h.mustJoin(carol, "general")
	h.mustJoin(bob, "random")
	h.mustJoin(carol, "random")
	h.gw.take(t)
	h.gw.setGone(bob)

	if status, ack := h.send(alice, "general", "still there?", ""); status != http.StatusOK || ack["type"] != "ack" {
		t.Fatalf("send: status %d, body %v", status, ack)
	}
	posts := h.gw.take(t)
	steps := []struct {
		name string
		conn string
		want []map[string]any
	}{
		{"bob was tried once", bob, []map[string]any{nil}},
		{"alice hears bob left general", alice, []map[string]any{
			{"type": "presence", "room": "general", "user": "bob", "event": "left", "members": []any{"alice", "carol"}},
		}},
		{"carol gets the message and hears bob left both rooms", carol, []map[string]any{
			{"type": "message", "room": "general", "from": "alice", "text": "still there?", "id": "1", "sentAt": "2025-03-01T12:00:00Z"},
			{"type": "presence", "room": "general", "user": "bob", "event": "left", "members": []any{"alice", "carol"}},
			{"type": "presence", "room": "random", "user": "bob", "event": "left", "members": []any{"carol"}},
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			// Delivery is concurrent, so compare without regard to order.
			if diff := cmp.Diff(s.want, posts[s.conn], cmpUnordered); diff != "" {
				t.Errorf("posts (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("bob is in no room", func(t *testing.T) {
		for _, room := range []string{"general", "random"} {
			if members := h.mustJoin(carol, room)["members"]; slices.Contains(members.([]any), any("bob")) {
				t.Errorf("%s members = %v", room, members)
			}
		}
		if status, _ := h.send(bob, "random", "hello?", ""); status != http.StatusNotFound {
			t.Errorf("send from a gone connection: status %d, want 404", status)
		}
	})
}

// TestFailedPostKeepsMember checks that a recipient the gateway fails to
// reach, without reporting it gone, stays in its rooms and is tried once.
func TestFailedPostKeepsMember(t *testing.T) {
	h := newHarness(t, Options{})
	h.mustConnect(alice, "alice")
	h.mustConnect(bob, "bob")
	h.mustJoin(alice, "general")
	h.mustJoin(bob, "general")
	h.gw.take(t)
	h.gw.setFailing(bob)

	if status, ack := h.send(alice, "general", "hello", ""); status != http.StatusOK || ack["type"] != "ack" {
		t.Fatalf("send: status %d, body %v", status, ack)
	}
	if got := h.gw.take(t); !cmp.Equal(got, map[string][]map[string]any{bob: {nil}}) {
		t.Errorf("posts = %v, want one failed attempt to bob", got)
	}
	h.mustConnect(carol, "carol")
	if members := h.mustJoin(carol, "general")["members"]; !cmp.Equal(members, []any{"alice", "bob", "carol"}) {
		t.Errorf("members = %v, want bob still there", members)
	}
}

// cmpUnordered sorts posts by their JSON encoding.
var cmpUnordered = cmp.Transformer("unordered", func(posts []map[string]any) []string {
	var out []string
	for _, p := range posts {
		b, _ := json.Marshal(p)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
})

func TestDisconnect(t *testing.T) {
	tests := []struct {
		name         string
		conn         string
		wantNotified map[string][]map[string]any
		wantGeneral  []any
	}{
		{
			name: "member of a room",
			conn: bob,
			wantNotified: map[string][]map[string]any{
				alice:  {{"type": "presence", "room": "general", "user": "bob", "event": "left", "members": []any{"alice"}}},
				alice2: {{"type": "presence", "room": "general", "user": "bob", "event": "left", "members": []any{"alice"}}},
			},
			wantGeneral: []any{"alice"},
		},
		{
			name: "user still there through another connection",
			conn: alice2,
			// Nobody is told: alice is still in general.
			wantGeneral: []any{"alice", "bob"},
		},
		{
			name:        "in no room",
			conn:        carol,
			wantGeneral: []any{"alice", "bob"},
		},
		{
			name:        "unknown connection",
			conn:        "bm9ib2R5LWF0LWFsbA=",
			wantGeneral: []any{"alice", "bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.mustConnect(alice, "alice")
			h.mustConnect(alice2, "alice")
			h.mustConnect(bob, "bob")
			h.mustConnect(carol, "carol")
			h.mustJoin(alice, "general")
			h.mustJoin(alice2, "general")
			h.mustJoin(bob, "general")
			h.gw.take(t)

			if status := h.disconnect(tt.conn); status != http.StatusNoContent {
				t.Fatalf("disconnect: status %d, want 204", status)
			}
			if diff := cmp.Diff(tt.wantNotified, h.gw.take(t), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("notified (-want +got):\n%s", diff)
			}
			// The disconnected connection no longer gets messages.
			if status, _ := h.send(alice, "general", "who is here?", ""); status != http.StatusOK {
				t.Fatalf("send: status %d", status)
			}
			if got := h.gw.take(t); got[tt.conn] != nil {
				t.Errorf("disconnected %s still got %v", tt.conn, got[tt.conn])
			}
			h.mustConnect(carol, "carol")
			if members := h.mustJoin(carol, "general")["members"]; !cmp.Equal(members, append(tt.wantGeneral, "carol")) {
				t.Errorf("general members = %v, want %v and carol", members, tt.wantGeneral)
			}
		})
	}
}

func TestUnknownAction(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantMessage string
	}{
		{"unknown action", `{"action":"dance"}`, `unknown action "dance"`},
		{"no action", `{"room":"general"}`, `message has no "action"`},
		{"action not a string", `{"action":["joinroom"]}`, `"action" must be a string`},
		{"not JSON", `hello there`, `message is not JSON with an "action"`},
		{"empty", ``, `message is not JSON with an "action"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			status, reply := h.call("/unknown-action", http.Header{"X-Connection-Id": {alice}}, tt.body)
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if reply["type"] != "help" || reply["message"] != tt.wantMessage {
				t.Errorf("reply type %v message %q, want help %q", reply["type"], reply["message"], tt.wantMessage)
			}
			var names []string
			actions, _ := reply["actions"].([]any)
			for _, a := range actions {
				names = append(names, a.(map[string]any)["action"].(string))
			}
			if !slices.Equal(names, []string{"joinroom", "sendmessage"}) {
				t.Errorf("actions = %q, want joinroom and sendmessage", names)
			}
			if posts := h.gw.take(t); len(posts) != 0 {
				t.Errorf("posted %v", posts)
			}
		})
	}
}

// TestBroadcastDoesNotHoldTheLock makes the gateway call back into the
// backend while a broadcast is in flight, as a real gateway does when a
// recipient's message triggers its own request; a broadcast that held the
// state lock would deadlock here.
func TestBroadcastDoesNotHoldTheLock(t *testing.T) {
	h := newHarness(t, Options{})
	h.mustConnect(alice, "alice")
	h.mustConnect(bob, "bob")
	h.mustJoin(alice, "general")
	h.mustJoin(bob, "general")
	h.gw.take(t)

	var once sync.Once
	replies := make(chan map[string]any, 1)
	h.gw.mu.Lock()
	h.gw.onPost = func(string) {
		once.Do(func() {
			req := httptest.NewRequest(http.MethodPost, "/rooms/join?room=random", strings.NewReader(`{"action":"joinroom","room":"random"}`))
			req.Header.Set("X-Connection-Id", bob)
			rec := httptest.NewRecorder()
			h.s.ServeHTTP(rec, req)
			var reply map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &reply)
			replies <- reply
		})
	}
	h.gw.mu.Unlock()

	if status, ack := h.send(alice, "general", "ping", ""); status != http.StatusOK {
		t.Fatalf("send: status %d, body %v", status, ack)
	}
	// The hook ran before the post was answered, so before send returned.
	select {
	case reply := <-replies:
		if reply["type"] != "joined" {
			t.Errorf("join during broadcast answered %v", reply)
		}
	default:
		t.Error("the gateway's hook did not run")
	}
}

// TestConcurrentSends has every member of a room send at once and checks
// that each message reaches every other member exactly once.
func TestConcurrentSends(t *testing.T) {
	const members, perMember = 8, 10
	h := newHarness(t, Options{Concurrency: 3})
	var conns []string
	for i := range members {
		conn := fmt.Sprintf("Y29ubmVjdGlvbi0%d=", i)
		conns = append(conns, conn)
		h.mustConnect(conn, fmt.Sprintf("user%d", i))
		h.mustJoin(conn, "crowd")
	}
	h.gw.take(t)

	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Go(func() {
			for i := range perMember {
				req := httptest.NewRequest(http.MethodPost, "/messages",
					strings.NewReader(fmt.Sprintf(`{"action":"sendmessage","room":"crowd","text":"%s %d"}`, conn, i)))
				req.Header.Set("X-Connection-Id", conn)
				rec := httptest.NewRecorder()
				h.s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Errorf("send from %s: status %d", conn, rec.Code)
				}
			}
		})
	}
	wg.Wait()

	posts := h.gw.take(t)
	for i, conn := range conns {
		got := posts[conn]
		if len(got) != (members-1)*perMember {
			t.Errorf("%s got %d messages, want %d", conn, len(got), (members-1)*perMember)
		}
		ids := make(map[any]bool)
		for _, m := range got {
			if m["from"] == fmt.Sprintf("user%d", i) {
				t.Errorf("%s got its own message %v", conn, m)
			}
			ids[m["id"]] = true
		}
		if len(ids) != len(got) {
			t.Errorf("%s got %d messages with only %d distinct ids", conn, len(got), len(ids))
		}
	}
}
