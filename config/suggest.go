package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
)

// suggest returns the candidate closest to given when it is close enough to
// be a likely typo, or "". The comparison ignores case, so that "http_proxy"
// suggests "HTTP_PROXY"; ties go to the candidate that sorts first.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 0
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	lg := strings.ToLower(given)
	for _, c := range sorted {
		if c == given {
			continue
		}
		dist := levenshtein.Distance(lg, strings.ToLower(c), nil)
		if dist >= maxSuggestDistance(c) {
			continue
		}
		if best == "" || dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

// maxSuggestDistance is the exclusive edit-distance limit for suggesting
// candidate: 3 like HCL, but 2 for names of up to four characters so that a
// short name does not suggest an unrelated one.
func maxSuggestDistance(candidate string) int {
	if len(candidate) <= 4 {
		return 2
	}
	return 3
}

// didYouMean returns ` Did you mean "X"?` for the closest candidate, or "".
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// quotedList renders values as `"A", "B" or "C"`.
func quotedList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
