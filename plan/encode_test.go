package plan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	st := applyForTest(t, mustMake(t, chatConfig(t), nil))
	cfg := chatConfig(t)
	cfg.APIKeys = []*model.APIKey{{Name: "k", Value: "0123456789abcdefghij", Enabled: true}}
	cfg.APIs[0].Integrations[0].TimeoutMS = 1234
	p := mustMake(t, cfg, st)

	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "0123456789abcdefghij") {
		t.Error("a saved plan must embed the secrets it applies")
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// Meta is not saved; attribute values come back as the same generic
	// JSON values.
	if diff := cmp.Diff(p, got, cmpopts.IgnoreTypes(model.Meta{}, model.Range{})); diff != "" {
		t.Errorf("decode(encode(p)) differs (-want +got):\n%s", diff)
	}
	// Applying the decoded plan's state then planning shows no changes.
	again := mustMake(t, got.Desired, applyForTest(t, got))
	if again.HasChanges() {
		t.Errorf("decoded plan is not idempotent: %v", addresses(again))
	}
}

func TestDecodeErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, mustMake(t, chatConfig(t), nil)); err != nil {
		t.Fatal(err)
	}
	valid := buf.String()
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "not a wsgwctl plan file"},
		{"garbage", "\x00\x01binary", "not a wsgwctl plan file"},
		{"state file", `{"version":1,"lineage":"x","serial":1,"apis":[]}`, "not a wsgwctl plan file"},
		{"future version", strings.Replace(valid, `"format_version":1`, `"format_version":7`, 1), "format version 7"},
		{"version not a number", strings.Replace(valid, `"format_version":1`, `"format_version":"1"`, 1), "not an integer"},
		{"tampered", strings.Replace(valid, `"$request.body.action"`, `"$request.body.evil"`, 1), "does not match the hash"},
		{"truncated", valid[:len(valid)/2], "not a wsgwctl plan file"},
		{"no state", strings.Replace(valid, `"new_state":{`, `"new_state":null,"x":{`, 1), "no proposed state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode(strings.NewReader(tt.data))
			if err == nil || p != nil {
				t.Fatalf("Decode = %v, %v; want an error", p, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}
