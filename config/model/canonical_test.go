package model

import "testing"

func TestCanonicalJSON(t *testing.T) {
	type inner struct {
		A string         `json:"a"`
		N int            `json:"n"`
		L []string       `json:"l"`
		M map[string]int `json:"m"`
	}
	tests := []struct {
		name string
		v    any
		drop string
		want string
	}{
		{"empties go, order is sorted", map[string]any{"z": 1, "a": "", "b": false, "c": []any{}, "d": nil, "e": "<x>"}, "", `{"e":"<x>","z":1}`},
		{"nested empties collapse", map[string]any{"o": inner{}}, "", `{}`},
		{"array positions stay", []any{"", 0, "x"}, "", `["",0,"x"]`},
		{"drop removes a member at any depth", map[string]any{"description": "d", "k": map[string]any{"description": "e", "v": 1}}, "description", `{"k":{"v":1}}`},
		{"omitted and explicit zero values are equal", inner{A: "x", L: []string{}}, "", `{"a":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalJSON(tt.v, tt.drop)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("CanonicalJSON = %s, want %s", got, tt.want)
			}
		})
	}
}
