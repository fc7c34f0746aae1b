package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
)

// post is one message for one connection.
type post struct {
	conn string
	data []byte
}

// postsTo returns one post of the JSON encoding of v per connection.
func postsTo(conns []string, v any) ([]post, error) {
	if len(conns) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	posts := make([]post, len(conns))
	for i, c := range conns {
		posts[i] = post{conn: c, data: data}
	}
	return posts, nil
}

// broadcast delivers posts through @connections and returns when every one
// has been attempted. Recipients that are gone are removed from the state,
// and the rooms they were in are told they left, which may find more gone
// recipients; the loop ends because each round removes at least one
// connection or has nothing more to send.
func (s *Server) broadcast(ctx context.Context, posts []post) {
	for len(posts) > 0 {
		gone := s.deliver(ctx, posts)
		posts = nil
		for _, conn := range gone {
			s.log.LogAttrs(ctx, slog.LevelInfo, "recipient gone", slog.String(keyConnection, conn))
			posts = append(posts, s.leave(ctx, conn)...)
		}
	}
}

// leave removes a connection from the state and returns the presence
// notices for the rooms it was in.
func (s *Server) leave(ctx context.Context, conn string) []post {
	user, rooms, ok := s.rooms.remove(conn)
	if !ok {
		return nil
	}
	var posts []post
	for _, l := range rooms {
		p, err := postsTo(l.others, presence{Type: "presence", Room: l.room, User: user, Event: eventLeft, Members: l.members})
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "presence not sent", slog.String(keyRoom, l.room), slog.Any(keyError, err))
			continue
		}
		posts = append(posts, p...)
	}
	return posts
}

// deliver makes one PostToConnection call per post, at most
// s.concurrency at a time, and returns the connections that are gone.
// Other failures are logged: a chat message that one member misses is not
// the sender's error.
func (s *Server) deliver(ctx context.Context, posts []post) []string {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		gone []string
		sem  = make(chan struct{}, s.concurrency)
	)
	for _, p := range posts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := s.postToConnection(ctx, p)
			var g *types.GoneException
			switch {
			case err == nil:
			case errors.As(err, &g):
				mu.Lock()
				gone = append(gone, p.conn)
				mu.Unlock()
			default:
				s.log.LogAttrs(ctx, slog.LevelWarn, "post to connection failed",
					slog.String(keyConnection, p.conn), slog.Any(keyError, err))
			}
		})
	}
	wg.Wait()
	return gone
}

// postToConnection sends one post, bounded by s.postTimeout.
func (s *Server) postToConnection(ctx context.Context, p post) error {
	ctx, cancel := context.WithTimeout(ctx, s.postTimeout)
	defer cancel()
	_, err := s.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(p.conn),
		Data:         p.data,
	})
	if err != nil {
		return fmt.Errorf("post to connection %s: %w", p.conn, err)
	}
	return nil
}

// defaultPostTimeout bounds one @connections call, retries included.
const defaultPostTimeout = 5 * time.Second
