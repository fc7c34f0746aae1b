package integration

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// RenderURI renders an integration uri template (CFG-2) for req, with the
// stage variables of req.StageVariables, and checks that the result is an
// absolute http or https URL. References render as tmpl.render documents
// (the package documentation summarises it); integration.response.* is not
// available in a uri and is an error. It compiles t on every call: the
// gateway uses Prepare, which compiles once.
func RenderURI(t model.Template, req *Request) (string, error) {
	ct, err := compileTemplate(t, scopeURI, nil, false)
	if err != nil {
		return "", err
	}
	env := newRenderEnv(req)
	s := string(ct.render(nil, &env))
	if _, err := parseEndpoint(s); err != nil {
		return "", err
	}
	return s, nil
}

// parseEndpoint parses a rendered uri and checks that it is an absolute http
// or https URL with a host.
func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("uri " + strconv.Quote(s) + " is not a valid URL: " + err.Error())
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return nil, errors.New("uri " + strconv.Quote(s) + " is not an absolute http or https URL")
	}
	return u, nil
}
