package integration

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestReadLimited checks the reply reader: small replies in place, larger
// ones joined from chunks, the limit, and the shared budget (issue 6: replies
// never grow memory beyond it).
func TestReadLimited(t *testing.T) {
	big := strings.Repeat("x", 3*replyChunk+17)
	tests := []struct {
		name    string
		reply   string
		limit   int
		budget  int64
		want    string
		wantErr error
	}{
		{name: "fits the buffer", reply: "hello", limit: 100, budget: 0, want: "hello"},
		{name: "chunks joined", reply: big, limit: len(big), budget: 1 << 30, want: big},
		{name: "one byte over the limit", reply: big, limit: len(big) - 1, budget: 1 << 30, wantErr: errTooLarge},
		{name: "budget too small for the chunks", reply: big, limit: len(big), budget: 2 * replyChunk, wantErr: errBudget},
		{name: "budget too small to join", reply: big, limit: len(big), budget: 4 * replyChunk, wantErr: errBudget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBudget(tt.budget)
			if tt.budget == 0 {
				b = nil
			}
			got, err := readLimited(make([]byte, 0, 16), strings.NewReader(tt.reply), tt.limit, b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, []byte(tt.want)) {
				t.Fatalf("read %d bytes, want %d", len(got), len(tt.want))
			}
			if b != nil && b.left.Load() != tt.budget {
				t.Fatalf("budget left %d after the call, want all %d back", b.left.Load(), tt.budget)
			}
		})
	}
}
