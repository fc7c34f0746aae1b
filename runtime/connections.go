package runtime

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// serveConnections is the @connections API (RT-2, D-28..D-30), reached as
// /{stage}/@connections/{id} or /{api}/{stage}/@connections/{id}. The path
// is matched decoded, so "%40connections" and percent-encoded ids work the
// way the AWS SDK sends them.
func (s *Server) serveConnections(w http.ResponseWriter, r *http.Request, t *table, segs []string) {
	// The body is read first: a signature covers it.
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		if body, err = readBody(r); err != nil {
			writeAWSError(w, http.StatusBadRequest, "BadRequestException", "Could not read the request body: "+err.Error())
			return
		}
	}
	if len(body) > MaxMessageSize && t.verifier != nil {
		// The signature covers the whole body, which is not read beyond
		// the limit: it cannot be checked, and the call fails on its size
		// either way.
		writeTooLarge(w, r)
		return
	}
	if !s.authorizeConnections(r, t, body) {
		writeAWSError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
		return
	}
	var apiName, stageName, id string
	if len(segs) == 4 {
		apiName, stageName, id = segs[0], segs[1], segs[3]
	} else {
		stageName, id = segs[0], segs[2]
	}
	c, err := s.conns.Locate(r.Context(), id)
	if err == nil {
		info := c.Info()
		if info.Stage != stageName || (apiName != "" && info.API != apiName) {
			// D-29: a connection is only reachable through its own stage.
			err = ErrGone
		}
	}
	if err != nil {
		writeGone(w)
		return
	}

	switch r.Method {
	case http.MethodPost:
		if len(body) > MaxMessageSize {
			writeTooLarge(w, r)
			return
		}
		if err := c.Post(r.Context(), body); err != nil {
			writeGone(w)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		info := c.Info()
		body, _ := json.Marshal(connectionJSON{
			ConnectedAt:  info.ConnectedAt.UTC().Format(time.RFC3339),
			Identity:     identityJSON{SourceIP: info.SourceIP, UserAgent: info.UserAgent},
			LastActiveAt: info.LastActiveAt.UTC().Format(time.RFC3339),
		})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	case http.MethodDelete:
		if err := c.Disconnect(r.Context()); errors.Is(err, ErrGone) {
			writeGone(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeAWSError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "Method "+r.Method+" is not allowed; use GET, POST or DELETE")
	}
}

type connectionJSON struct {
	ConnectedAt  string       `json:"connectedAt"`
	Identity     identityJSON `json:"identity"`
	LastActiveAt string       `json:"lastActiveAt"`
}

type identityJSON struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// authorizeConnections decides whether r may use the @connections API
// (RT-2, D-28). With credentials in the state, a valid SigV4 signature
// (service execute-api) by one of them is required from every caller.
// Without, loopback callers are accepted, signed or not, and everyone else
// is refused.
func (s *Server) authorizeConnections(r *http.Request, t *table, body []byte) bool {
	if t.verifier != nil {
		if _, err := t.verifier.Verify(r, body); err != nil {
			s.log.Info("@connections call refused", "remote_addr", r.RemoteAddr, logKeyError, err)
			return false
		}
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeGone answers 410 GoneException with an empty body (D-30).
func writeGone(w http.ResponseWriter) {
	w.Header().Set("x-amzn-ErrorType", "GoneException")
	w.WriteHeader(http.StatusGone)
}

// writeTooLarge answers 413 PayloadTooLargeException to a POST whose body
// is over MaxMessageSize, naming its size when Content-Length gives it
// (D-30).
func writeTooLarge(w http.ResponseWriter, r *http.Request) {
	size := "more than " + strconv.Itoa(MaxMessageSize)
	if r.ContentLength > 0 {
		size = strconv.FormatInt(r.ContentLength, 10)
	}
	writeAWSError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException",
		"Message of "+size+" bytes is larger than the limit of "+strconv.Itoa(MaxMessageSize)+" bytes")
}

// writeAWSError answers an AWS-style error: the error type in
// x-amzn-ErrorType and {"message": ...} as the body.
func writeAWSError(w http.ResponseWriter, status int, errorType, message string) {
	// Marshal rather than an Encoder: the body is exactly the JSON object,
	// without a trailing newline (D-30's {"message":"Forbidden"}).
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("x-amzn-ErrorType", errorType)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody reads a POST body of at most MaxMessageSize+1 bytes (one more
// tells an oversize body). The message goes to the client's send queue
// as it is, so with a Content-Length it is read into one buffer of exactly
// that size rather than grown.
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= MaxMessageSize {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, MaxMessageSize+1))
}
