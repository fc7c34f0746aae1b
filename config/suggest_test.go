package config

import "testing"

func TestSuggest(t *testing.T) {
	tests := []struct {
		given      string
		candidates []string
		want       string
	}{
		{"HTTP_PROX", integrationTypes, "HTTP_PROXY"},
		{"http_proxy", integrationTypes, "HTTP_PROXY"},
		{"mock", integrationTypes, "MOCK"},
		{"LAMBDA", integrationTypes, ""},
		{"backnd", []string{"backend", "frontend"}, "backend"},
		{"nn", []string{"n"}, "n"},
		{"xyz", []string{"a", "b"}, ""},
		{"$conect", []string{"$connect", "$default", "$disconnect"}, "$connect"},
		{"same", []string{"same"}, ""},
		{"anything", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.given, func(t *testing.T) {
			if got := suggest(tt.given, tt.candidates); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

func TestQuotedList(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"A"}, `"A"`},
		{[]string{"A", "B", "C"}, `"A", "B" or "C"`},
	} {
		if got := quotedList(tt.in); got != tt.want {
			t.Errorf("quotedList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
