// Package integration calls the backends of proxy integrations: it sends the
// AWS WebSocket Lambda proxy event of an AWS_PROXY integration (RT-40) and
// the proxied request of an HTTP_PROXY integration (RT-41), applies the
// integration's request_parameters (D-24) and timeout_ms (RT-44), and turns
// the backend's answer into a Response or a classified *Error.
//
// It owns the shared keep-alive HTTP transport the gateway uses for
// integration calls, the encoding of proxy events, the parsing of Lambda
// proxy results, the rendering of the integration uri template (CFG-2) and
// the names of the context.* variables (Request.ContextValue), which access
// logs and mapping templates share.
//
// It does not decide what a status code means: an HTTP_PROXY 4xx or 5xx is a
// Response, and the caller applies RT-11 ($connect), D-39 (messages) and
// RT-24 (two-way replies). It never writes to a client connection, keeps no
// per-connection state, and does not serve the HTTP and MOCK integration
// types: Invoke answers those with an *Error of Kind KindUnsupported, because
// their request and response templates belong to the template engine.
//
// Decisions worth knowing:
//
//   - The default transport (Options.Transport nil) is one pooled
//     *http.Transport shared by every Invoker of the process. It keeps up to
//     512 idle connections per backend host, dials with a 10 s timeout and
//     TCP keep-alive, and does not use HTTP_PROXY/HTTPS_PROXY from the
//     environment: integration endpoints are the operator's own backends,
//     usually on a private network, and an environment proxy would silently
//     reroute (or break) them. Pass an Options.Transport to use a proxy.
//   - Redirects are never followed; an HTTP_PROXY 3xx is returned as is.
//   - An integration is compiled (uri template, request_parameters) the first
//     time it is invoked and the result is kept while the *model.Integration
//     is reachable; the model value must not change after that.
//   - HTTP_PROXY on CONNECT forwards the handshake's headers, including Host,
//     minus hop-by-hop and WebSocket handshake headers (see
//     droppedHandshakeHeader); on DISCONNECT it sends the header set of D-42
//     (Host is then the handshake's Host); on MESSAGE only the mapped
//     request parameters. A mapped integration.request.header.Host overrides
//     the Host sent.
package integration
