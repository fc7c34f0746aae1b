package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// canonicalRequest returns the canonical request of r for the signature
// sig: method, canonical path, canonical query, canonical headers, signed
// header names and payload hash, one per line.
func canonicalRequest(r *http.Request, sig *signature, payloadHash string) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(escapePath(wirePath(r)))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(sig.query))
	b.WriteByte('\n')
	for _, name := range sig.signedHeaders {
		value, err := headerValue(r, name)
		if err != nil {
			return "", err
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(sig.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// wirePath returns the request's path as the client sent it, still
// escaped: the part of RequestURI before the query, or URL.EscapedPath for
// a request that has no origin-form RequestURI (one built by
// http.NewRequest, or an absolute-form proxy request); "/" when empty.
func wirePath(r *http.Request) string {
	var p string
	if strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ = strings.Cut(r.RequestURI, "?")
	} else {
		p = r.URL.EscapedPath()
	}
	if p == "" {
		return "/"
	}
	return p
}

// unreserved reports whether c is one of RFC 3986's unreserved characters,
// the only bytes SigV4 leaves unescaped (besides "/" in paths).
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// escape appends s to b with every byte that is not unreserved (and not
// "/" when keepSlash) written as %XX in upper-case hex.
func escape(b *strings.Builder, s string, keepSlash bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

// escapePath escapes a path that is already escaped once (as sent): the
// second encoding SigV4 applies to every service but S3.
func escapePath(p string) string {
	var b strings.Builder
	b.Grow(len(p) + len(p)/4)
	escape(&b, p, true)
	return b.String()
}

// canonicalQuery encodes every name=value pair of query, then sorts the
// encoded pairs by name and then value, and joins them with "&".
func canonicalQuery(query url.Values) string {
	pairs := make([][2]string, 0, len(query))
	for name, values := range query {
		var nb strings.Builder
		escape(&nb, name, false)
		for _, v := range values {
			var vb strings.Builder
			escape(&vb, v, false)
			pairs = append(pairs, [2]string{nb.String(), vb.String()})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	return b.String()
}

// headerValue returns the canonical value of the signed header name
// (lowercase): the Host for "host", else the request's values for name,
// each with runs of spaces collapsed and ends trimmed, joined by ",".
// Content-Length falls back to Request.ContentLength when the header map
// does not carry it (HTTP/2). A signed header the request does not carry is
// an error.
func headerValue(r *http.Request, name string) (string, error) {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	default:
		values = r.Header.Values(name)
		if len(values) == 0 && name == "content-length" && r.ContentLength > 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	if len(values) == 0 || (name == "host" && r.Host == "") {
		return "", fmt.Errorf("%w: signed header %q is not in the request", ErrMismatch, clip(name))
	}
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.TrimSpace(collapseSpaces(v)))
	}
	return b.String(), nil
}

// collapseSpaces replaces every run of spaces in s with one space.
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
