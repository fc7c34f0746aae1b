package backend

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Errors the state reports; the handlers turn them into replies.
var (
	errUnknownConnection = errors.New("unknown connection; reconnect with ?user=NAME")
	errNotMember         = errors.New("not a member of this room; join it first")
)

// message is one chat message as it is stored, broadcast and returned in a
// room's history.
type message struct {
	Type   string    `json:"type"`
	Room   string    `json:"room"`
	From   string    `json:"from"`
	Text   string    `json:"text"`
	ID     string    `json:"id"`
	SentAt time.Time `json:"sentAt"`
}

// presence tells a room's members that a user joined or left it.
type presence struct {
	Type    string   `json:"type"`
	Room    string   `json:"room"`
	User    string   `json:"user"`
	Event   string   `json:"event"`
	Members []string `json:"members"`
}

// Presence events.
const (
	eventJoined = "joined"
	eventLeft   = "left"
)

// member is what the state knows about one connection.
type member struct {
	user  string
	rooms map[string]struct{}
}

// room is one chat room: its member connections and its recent messages,
// oldest first.
type room struct {
	members map[string]struct{}
	history []message
}

// rooms is the chat state, safe for concurrent use. Its methods only touch
// memory; callers make network calls after they return.
type rooms struct {
	historySize int

	mu     sync.Mutex
	conns  map[string]*member
	byName map[string]*room
	lastID uint64
}

func newRooms(historySize int) *rooms {
	return &rooms{
		historySize: historySize,
		conns:       make(map[string]*member),
		byName:      make(map[string]*room),
	}
}

// connect registers a connection under a user name. Registering a known
// connection again replaces its user name and keeps its rooms.
func (rs *rooms) connect(conn, user string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if m, ok := rs.conns[conn]; ok {
		m.user = user
		return
	}
	rs.conns[conn] = &member{user: user, rooms: make(map[string]struct{})}
}

// joined is the outcome of a join.
type joined struct {
	user    string
	members []string
	history []message
	// others are the room's other member connections, to be told about
	// the join; empty when nobody needs telling.
	others []string
}

// join adds a connection to a room, creating the room when needed.
func (rs *rooms) join(conn, name string) (joined, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m, ok := rs.conns[conn]
	if !ok {
		return joined{}, errUnknownConnection
	}
	r, ok := rs.byName[name]
	if !ok {
		r = &room{members: make(map[string]struct{})}
		rs.byName[name] = r
	}
	_, already := r.members[conn]
	// Others only hear about users who were not in the room already, through
	// this or another connection.
	announce := !already && !rs.hasUserLocked(r, m.user, conn)
	r.members[conn] = struct{}{}
	m.rooms[name] = struct{}{}
	j := joined{
		user:    m.user,
		members: rs.usersLocked(r),
		history: slices.Clone(r.history),
	}
	if announce {
		j.others = othersLocked(r, conn)
	}
	return j, nil
}

// sent is the outcome of a send.
type sent struct {
	msg    message
	others []string
}

// send stores a message from a connection in a room's history and returns
// it with the room's other member connections.
func (rs *rooms) send(conn, name, text string, now time.Time) (sent, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m, ok := rs.conns[conn]
	if !ok {
		return sent{}, errUnknownConnection
	}
	if _, in := m.rooms[name]; !in {
		return sent{}, errNotMember
	}
	r := rs.byName[name]
	rs.lastID++
	msg := message{
		Type:   "message",
		Room:   name,
		From:   m.user,
		Text:   text,
		ID:     strconv.FormatUint(rs.lastID, 10),
		SentAt: now.UTC(),
	}
	if rs.historySize > 0 {
		if len(r.history) == rs.historySize {
			// Shift rather than reslice so the backing array stays bounded.
			copy(r.history, r.history[1:])
			r.history = r.history[:len(r.history)-1]
		}
		r.history = append(r.history, msg)
	}
	return sent{msg: msg, others: othersLocked(r, conn)}, nil
}

// left is one room a removed connection was in, with what its remaining
// members should be told.
type left struct {
	room    string
	members []string
	// others are the remaining member connections to tell; empty when the
	// user is still in the room through another connection.
	others []string
}

// remove forgets a connection and takes it out of every room. It reports
// the user and the rooms it left; ok is false for an unknown connection.
func (rs *rooms) remove(conn string) (user string, rooms []left, ok bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m, ok := rs.conns[conn]
	if !ok {
		return "", nil, false
	}
	delete(rs.conns, conn)
	for _, name := range slices.Sorted(maps.Keys(m.rooms)) {
		r := rs.byName[name]
		delete(r.members, conn)
		if len(r.members) == 0 {
			delete(rs.byName, name)
			continue
		}
		l := left{room: name, members: rs.usersLocked(r)}
		if !rs.hasUserLocked(r, m.user, "") {
			l.others = othersLocked(r, "")
		}
		rooms = append(rooms, l)
	}
	return m.user, rooms, true
}

// usersLocked returns the distinct user names of a room's members, sorted.
func (rs *rooms) usersLocked(r *room) []string {
	users := make([]string, 0, len(r.members))
	for conn := range r.members {
		users = append(users, rs.conns[conn].user)
	}
	slices.Sort(users)
	return slices.Compact(users)
}

// hasUserLocked reports whether a connection other than except belongs to
// user and is in the room.
func (rs *rooms) hasUserLocked(r *room, user, except string) bool {
	for conn := range r.members {
		if conn != except && rs.conns[conn].user == user {
			return true
		}
	}
	return false
}

// othersLocked returns a room's member connections other than except,
// sorted so that delivery order is reproducible.
func othersLocked(r *room, except string) []string {
	others := make([]string, 0, len(r.members))
	for conn := range r.members {
		if conn != except {
			others = append(others, conn)
		}
	}
	slices.Sort(others)
	return others
}
