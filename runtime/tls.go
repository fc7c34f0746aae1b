package runtime

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// TLSConfig returns the TLS configuration of a listener serving wss:// (CLI-9,
// RT-1): TLS 1.2 or newer, HTTP/1.1 only, and the certificate chosen by the
// client's server name (SNI) among the domain_name blocks of the served state,
// falling back to def (the --tls-cert certificate; nil means no fallback, and
// a client naming no configured domain is refused).
func (s *Server) TLSConfig(def *tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if t := s.table.Load(); t != nil {
				if c := t.certs[strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))]; c != nil {
					return c, nil
				}
			}
			if def != nil {
				return def, nil
			}
			return nil, fmt.Errorf("no certificate for server name %q", hello.ServerName)
		},
	}
}

// loadDomainCerts loads the certificate of every domain_name that has one,
// keyed by lowercase host. Relative paths are resolved against dir. A
// certificate that cannot be loaded fails the state's compile, so the old one
// keeps serving.
func loadDomainCerts(dns []*model.DomainName, dir string) (map[string]*tls.Certificate, error) {
	certs := map[string]*tls.Certificate{}
	for _, dn := range dns {
		if dn == nil || dn.CertificateFile == "" {
			continue
		}
		c, err := tls.LoadX509KeyPair(resolve(dir, dn.CertificateFile), resolve(dir, dn.PrivateKeyFile))
		if err != nil {
			return nil, fmt.Errorf("%s: load certificate: %w", model.DomainNameAddress(dn.Host), err)
		}
		certs[strings.ToLower(dn.Host)] = &c
	}
	return certs, nil
}

// resolve returns path, made absolute against dir when it is relative and
// dir is set.
func resolve(dir, path string) string {
	if dir == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
