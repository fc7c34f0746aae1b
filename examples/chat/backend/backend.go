package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// Defaults of Options.
const (
	DefaultHistorySize = 20
	DefaultConcurrency = 16
)

// Request headers the gateway sets, as chat.wsgw.hcl maps them.
const (
	headerConnectionID = "X-Connection-Id"
	headerUser         = "X-Chat-User"
	headerRequestID    = "X-Request-Id"
)

// maxBodyBytes is the largest request body read: the gateway's own limit on
// a WebSocket message.
const maxBodyBytes = 131072

// Log attribute keys.
const (
	keyConnection = "connection"
	keyUser       = "user"
	keyRoom       = "room"
	keyMessageID  = "message_id"
	keyRequestID  = "request_id"
	keyRecipients = "recipients"
	keyError      = "error"
)

var (
	// userPattern is what a user name may look like.
	userPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	// roomPattern matches the room names that the example's JSON schemas
	// accept.
	roomPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
)

// Options configures a Server.
type Options struct {
	// Gateway is the base URL of the gateway's @connections API for the
	// stage, for example http://127.0.0.1:8080/chat/dev. Required.
	Gateway string
	// HTTPClient makes the @connections calls. Default: the AWS SDK's
	// default client.
	HTTPClient *http.Client
	// Logger receives the server's logs. Default: logs are discarded.
	Logger *slog.Logger
	// HistorySize is how many recent messages each room keeps and returns
	// on join. Default: DefaultHistorySize.
	HistorySize int
	// Concurrency bounds the @connections calls one broadcast makes at
	// once. Default: DefaultConcurrency.
	Concurrency int
}

// Server is the chat backend, an http.Handler for the routes of the chat
// example. It is safe for concurrent use and starts no goroutine that
// outlives a request.
type Server struct {
	log         *slog.Logger
	client      *apigatewaymanagementapi.Client
	rooms       *rooms
	mux         *http.ServeMux
	concurrency int
	postTimeout time.Duration
	now         func() time.Time
}

// New returns a Server that posts to the @connections API at opts.Gateway
// with the AWS SDK, signing with the static credentials local/local in the
// region "local" (a local gateway without credentials accepts any signature
// from a loopback address). Failed @connections calls other than
// GoneException are logged and not retried.
func New(opts Options) *Server {
	historySize := opts.HistorySize
	if historySize <= 0 {
		historySize = DefaultHistorySize
	}
	s := &Server{
		log:         opts.Logger,
		rooms:       newRooms(historySize),
		concurrency: opts.Concurrency,
		postTimeout: defaultPostTimeout,
		now:         time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultConcurrency
	}
	sdkOpts := apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(opts.Gateway),
		Region:       "local",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		// A chat broadcast is best effort and the sender's reply waits for
		// it: a failed call is logged rather than retried with backoff.
		RetryMaxAttempts: 1,
	}
	if opts.HTTPClient != nil {
		sdkOpts.HTTPClient = opts.HTTPClient
	}
	s.client = apigatewaymanagementapi.New(sdkOpts)

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /connect", s.handleConnect)
	s.mux.HandleFunc("POST /disconnect", s.handleDisconnect)
	s.mux.HandleFunc("POST /rooms/join", s.handleJoin)
	s.mux.HandleFunc("POST /messages", s.handleMessage)
	s.mux.HandleFunc("POST /unknown-action", s.handleUnknown)
	return s
}

// ServeHTTP answers one call of the gateway.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// handleConnect registers a connection ($connect). Its status decides the
// handshake, so a bad user name is refused here.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	conn, ok := connectionID(w, r)
	if !ok {
		return
	}
	user := r.Header.Get(headerUser)
	if user == "" {
		// The gateway also appends the handshake's query string to the uri.
		user = r.URL.Query().Get("user")
	}
	if !userPattern.MatchString(user) {
		replyError(w, http.StatusBadRequest, "connect with ?user=NAME: 1 to 32 letters, digits, '.', '_' or '-'")
		return
	}
	s.rooms.connect(conn, user)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "connected", slog.String(keyConnection, conn), slog.String(keyUser, user))
	w.WriteHeader(http.StatusNoContent)
}

// handleDisconnect forgets a connection ($disconnect) and tells its rooms.
func (s *Server) handleDisconnect(w http.ResponseWriter, r *http.Request) {
	conn, ok := connectionID(w, r)
	if !ok {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	s.log.LogAttrs(ctx, slog.LevelInfo, "disconnected", slog.String(keyConnection, conn))
	s.broadcast(ctx, s.leave(ctx, conn))
	w.WriteHeader(http.StatusNoContent)
}

// joinRequest is the body of a joinroom message.
type joinRequest struct {
	Room string `json:"room"`
}

// joinedReply answers a joinroom message.
type joinedReply struct {
	Type    string    `json:"type"`
	Room    string    `json:"room"`
	Members []string  `json:"members"`
	History []message `json:"history"`
}

// handleJoin adds a connection to a room (joinroom) and answers with the
// room's members and history.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	conn, ok := connectionID(w, r)
	if !ok {
		return
	}
	var req joinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	name := r.URL.Query().Get("room")
	if name == "" {
		name = req.Room
	}
	if !roomPattern.MatchString(name) {
		replyError(w, http.StatusBadRequest, "room must be 1 to 32 lower-case letters, digits or '-'")
		return
	}
	j, err := s.rooms.join(conn, name)
	if err != nil {
		replyStateError(w, err)
		return
	}
	// Broadcasts outlive a caller that gives up: the join has happened.
	ctx := context.WithoutCancel(r.Context())
	s.log.LogAttrs(ctx, slog.LevelInfo, "joined", slog.String(keyConnection, conn),
		slog.String(keyUser, j.user), slog.String(keyRoom, name), slog.Int(keyRecipients, len(j.others)))
	posts, err := postsTo(j.others, presence{Type: "presence", Room: name, User: j.user, Event: eventJoined, Members: j.members})
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "presence not sent", slog.String(keyRoom, name), slog.Any(keyError, err))
	}
	s.broadcast(ctx, posts)
	if j.history == nil {
		j.history = []message{}
	}
	replyJSON(w, http.StatusOK, joinedReply{Type: "joined", Room: name, Members: j.members, History: j.history})
}

// sendRequest is the body of a sendmessage message.
type sendRequest struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

// ackReply answers a sendmessage message.
type ackReply struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Room      string    `json:"room"`
	SentAt    time.Time `json:"sentAt"`
	RequestID string    `json:"requestId,omitempty"`
}

// handleMessage stores a chat message (sendmessage), broadcasts it to the
// room's other members and acknowledges it.
func (s *Server) handleMessage(w http.ResponseWriter, r *http.Request) {
	conn, ok := connectionID(w, r)
	if !ok {
		return
	}
	var req sendRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !roomPattern.MatchString(req.Room) {
		replyError(w, http.StatusBadRequest, "room must be 1 to 32 lower-case letters, digits or '-'")
		return
	}
	if req.Text == "" {
		replyError(w, http.StatusBadRequest, "text must not be empty")
		return
	}
	requestID := r.Header.Get(headerRequestID)
	sn, err := s.rooms.send(conn, req.Room, req.Text, s.now())
	if err != nil {
		replyStateError(w, err)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	s.log.LogAttrs(ctx, slog.LevelInfo, "message", slog.String(keyConnection, conn), slog.String(keyRoom, req.Room),
		slog.String(keyMessageID, sn.msg.ID), slog.String(keyRequestID, requestID), slog.Int(keyRecipients, len(sn.others)))
	posts, err := postsTo(sn.others, sn.msg)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "message not broadcast", slog.String(keyMessageID, sn.msg.ID), slog.Any(keyError, err))
	}
	s.broadcast(ctx, posts)
	replyJSON(w, http.StatusOK, ackReply{Type: "ack", ID: sn.msg.ID, Room: req.Room, SentAt: sn.msg.SentAt, RequestID: requestID})
}

// helpReply answers a message with a missing or unknown action.
type helpReply struct {
	Type    string       `json:"type"`
	Message string       `json:"message"`
	Actions []actionHelp `json:"actions"`
}

// actionHelp describes one action.
type actionHelp struct {
	Action      string         `json:"action"`
	Description string         `json:"description"`
	Example     map[string]any `json:"example"`
}

// actions is the help text of every action.
var actions = []actionHelp{
	{
		Action:      "joinroom",
		Description: "Join a room; the reply carries its members and recent messages.",
		Example:     map[string]any{"action": "joinroom", "room": "general"},
	},
	{
		Action:      "sendmessage",
		Description: "Send a message to a room you joined; the reply acknowledges it.",
		Example:     map[string]any{"action": "sendmessage", "room": "general", "text": "hello"},
	},
}

// handleUnknown answers a message that no other route took ($default).
func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action any `json:"action"`
	}
	msg := "message is not JSON with an \"action\""
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err == nil && json.Unmarshal(body, &req) == nil {
		switch a := req.Action.(type) {
		case nil:
			msg = "message has no \"action\""
		case string:
			msg = fmt.Sprintf("unknown action %q", a)
		default:
			msg = "\"action\" must be a string"
		}
	}
	replyJSON(w, http.StatusBadRequest, helpReply{Type: "help", Message: msg, Actions: actions})
}

// connectionID returns the X-Connection-Id header, or answers 400 when it
// is missing.
func connectionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	conn := r.Header.Get(headerConnectionID)
	if conn == "" {
		replyError(w, http.StatusBadRequest, "missing "+headerConnectionID+" header")
		return "", false
	}
	return conn, true
}

// decodeBody decodes a JSON request body into v, or answers 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(v); err != nil {
		replyError(w, http.StatusBadRequest, "message is not a JSON object of the expected shape")
		return false
	}
	return true
}

// errorReply is the body of every error answer.
type errorReply struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// replyStateError answers an error of the chat state.
func replyStateError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errUnknownConnection):
		status = http.StatusNotFound
	case errors.Is(err, errNotMember):
		status = http.StatusForbidden
	}
	replyError(w, status, err.Error())
}

// replyError answers status with an error document.
func replyError(w http.ResponseWriter, status int, msg string) {
	replyJSON(w, status, errorReply{Type: "error", Message: msg})
}

// replyJSON answers status with the JSON encoding of v.
func replyJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode reply", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
