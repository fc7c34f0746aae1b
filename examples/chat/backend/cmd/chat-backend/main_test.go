package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestRunRejectsBadUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"help", []string{"-h"}, 0, "-gateway URL"},
		{"unknown flag", []string{"--port", "9000"}, 2, "flag provided but not defined: -port"},
		{"extra argument", []string{"serve"}, 2, `unexpected argument "serve"`},
		{"gateway without scheme", []string{"--gateway", "gateway.local/chat/dev"}, 2, "is not an http:// or https:// URL"},
		{"gateway without host", []string{"--gateway", "http:///chat/dev"}, 2, "is not an http:// or https:// URL"},
		{"unusable listen address", []string{"--listen", "127.0.0.1:notaport"}, 1, "listen on 127.0.0.1:notaport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stderr); code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, &stderr)
			}
		})
	}
}

// TestServeAnswersThenShutsDown serves the backend, makes one call as the
// gateway would, and checks that cancelling the context stops it cleanly.
func TestServeAnswersThenShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, log, ln, "http://127.0.0.1:1/chat/dev") }()

	resp, err := http.Post("http://"+ln.Addr().String()+"/unknown-action", "application/json", strings.NewReader(`{"action":"dance"}`))
	if err != nil {
		t.Fatalf("call the backend: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	var reply struct{ Type string }
	if err := json.Unmarshal(body, &reply); err != nil || resp.StatusCode != http.StatusBadRequest || reply.Type != "help" {
		t.Errorf("reply = %d %s, want 400 with a help document", resp.StatusCode, body)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v after cancel, want nil", err)
	}
	if _, err := http.Post("http://"+ln.Addr().String()+"/unknown-action", "application/json", nil); err == nil {
		t.Error("the backend still answers after shutdown")
	}
}
