package sigv4

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
)

// call is what the test server saw of one @connections request.
type call struct {
	method, path string
	body         string
	keyID        string
	err          error
}

// connectionsServer is a minimal @connections API whose handler verifies
// every request with v and answers as the gateway does (RT-2): 403
// ForbiddenException when verification fails.
func connectionsServer(t *testing.T, v *Verifier) (*httptest.Server, func() []call) {
	var (
		mu    sync.Mutex
		calls []call
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 131073))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		id, verr := v.Verify(r, body)
		mu.Lock()
		calls = append(calls, call{method: r.Method, path: r.RequestURI, body: string(body), keyID: id, err: verr})
		mu.Unlock()
		if verr != nil {
			w.Header().Set("x-amzn-ErrorType", "ForbiddenException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Forbidden"}`)
			return
		}
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusOK)
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"connectedAt":"2025-03-14T15:09:26Z","identity":{"sourceIp":"127.0.0.1","userAgent":"test"},"lastActiveAt":"2025-03-14T15:09:27Z"}`)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []call {
		mu.Lock()
		defer mu.Unlock()
		return append([]call(nil), calls...)
	}
}

// managementClient is the real ApiGatewayManagementApi client pointed at
// endpoint, signing with creds.
func managementClient(srv *httptest.Server, endpoint string, creds aws.Credentials) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// TestManagementAPIClientRoundTrip: the real apigatewaymanagementapi client
// posts to, gets and deletes connections through a server that verifies
// its signatures, with the endpoint at /{stage} and /{api}/{stage} and ids
// that need escaping (RT-2).
func TestManagementAPIClientRoundTrip(t *testing.T) {
	srv, calls := connectionsServer(t, New([]Credential{
		{AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey},
	}, nil))
	ctx := context.Background()
	ids := []string{"Zm9vYmFy", "abc=", "a-b_c==", "sp ace+plus/slash"}
	for _, endpoint := range []string{srv.URL + "/prod", srv.URL + "/orders/prod"} {
		for _, creds := range []aws.Credentials{alice, {AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey, SessionToken: "session"}} {
			c := managementClient(srv, endpoint, creds)
			for _, id := range ids {
				name := endpoint[len(srv.URL):] + " " + id
				if creds.SessionToken != "" {
					name += " with session token"
				}
				t.Run(name, func(t *testing.T) {
					before := len(calls())
					if _, err := c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
						ConnectionId: aws.String(id), Data: []byte(`{"msg":"hello"}`),
					}); err != nil {
						t.Fatalf("RT-2: PostToConnection: %v", err)
					}
					got, err := c.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
					if err != nil {
						t.Fatalf("RT-2: GetConnection: %v", err)
					}
					if got.Identity == nil || aws.ToString(got.Identity.SourceIp) != "127.0.0.1" {
						t.Errorf("GetConnection identity = %+v", got.Identity)
					}
					if _, err := c.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
						t.Fatalf("RT-2: DeleteConnection: %v", err)
					}
					seen := calls()[before:]
					if len(seen) != 3 {
						t.Fatalf("server saw %d calls, want 3", len(seen))
					}
					for i, m := range []string{"POST", "GET", "DELETE"} {
						if seen[i].method != m || seen[i].err != nil || seen[i].keyID != alice.AccessKeyID {
							t.Errorf("call %d = %+v, want a verified %s by %s", i, seen[i], m, alice.AccessKeyID)
						}
						if !strings.Contains(seen[i].path, "@connections/") {
							t.Errorf("call %d path %q has no @connections", i, seen[i].path)
						}
					}
					if seen[0].body != `{"msg":"hello"}` {
						t.Errorf("POST body = %q", seen[0].body)
					}
				})
			}
		}
	}
}

// TestManagementAPIClientRefused: the real client signing with an unknown
// key or a wrong secret gets ForbiddenException, and the server's error
// says why (RT-2).
func TestManagementAPIClientRefused(t *testing.T) {
	srv, calls := connectionsServer(t, New([]Credential{
		{AccessKeyID: alice.AccessKeyID, SecretAccessKey: alice.SecretAccessKey},
	}, nil))
	cases := []struct {
		name  string
		creds aws.Credentials
		want  error
	}{
		{"unknown key", stranger, ErrUnknownKey},
		{"wrong secret", aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: bob.SecretAccessKey}, ErrMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(calls())
			_, err := managementClient(srv, srv.URL+"/prod", c.creds).PostToConnection(context.Background(),
				&apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("abc="), Data: []byte("x")})
			var forbidden *types.ForbiddenException
			if !errors.As(err, &forbidden) {
				t.Fatalf("RT-2: PostToConnection error = %v, want ForbiddenException", err)
			}
			seen := calls()[before:]
			if len(seen) != 1 || !errors.Is(seen[0].err, c.want) {
				t.Fatalf("server saw %+v, want one call refused with %v", seen, c.want)
			}
		})
	}
}
