// Package integration calls the integrations of a route: it sends the AWS
// WebSocket Lambda proxy event of an AWS_PROXY integration (RT-40), the
// proxied request of an HTTP_PROXY integration (RT-41), the rendered
// request template of an HTTP integration (RT-42), and answers a MOCK
// integration from its templates (RT-43). It applies request_parameters
// (D-24), timeout_ms (RT-44), template selection, passthrough_behavior,
// content_handling and integration responses (D-44), and turns the answer
// into a Response or a classified *Error.
//
// It owns the shared keep-alive HTTP transport the gateway uses for
// integration calls, the encoding of proxy events, the parsing of Lambda
// proxy results, the one renderer of request-time templates (CFG-2: uri,
// request templates, response templates) and the names of the context.*
// variables (Request.ContextValue), which access logs and templates share.
//
// It does not decide what a status code means: an HTTP_PROXY or HTTP 4xx or
// 5xx is a Response, and the caller applies RT-11 ($connect), D-39
// (messages) and RT-24 (two-way replies). It never writes to a client
// connection and keeps no per-connection state.
//
// Invoker.Prepare compiles an integration for one stage (stage variables
// folded into the uri, request_parameters and templates; regexes, selection
// expressions and paths compiled; errors naming the integration), and
// Invoker.Call runs the result; the gateway prepares on every reload.
// Invoker.Invoke prepares on first use and resolves stage variables per
// request instead.
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
//   - Redirects are never followed; an HTTP_PROXY or HTTP 3xx is returned as
//     is.
//   - HTTP_PROXY on CONNECT forwards the handshake's headers, including Host,
//     minus hop-by-hop and WebSocket handshake headers (see
//     droppedHandshakeHeader); on DISCONNECT it sends the header set of D-42
//     (Host is then the handshake's Host); on MESSAGE only the mapped
//     request parameters. A mapped integration.request.header.Host overrides
//     the Host sent. HTTP sends only the mapped request parameters, with
//     Content-Type application/json when there is a body
//     (application/octet-stream after CONVERT_TO_BINARY) unless a parameter
//     maps another.
//
// Template values. A string variable (context.*, stageVariables.*,
// request.raw_body, integration.response.header.NAME,
// integration.response.raw_body) renders as is. request.body and
// integration.response.body are the message and the reply parsed as JSON,
// or null when they are not JSON; their paths use the PATH syntax of D-38.
// Without a function a JSON value renders as text: a string unquoted and
// unescaped, a number or boolean as written, null as nothing, an object or
// array as compact JSON (not D-38's {k=v} form, which is for selection
// keys: templates build JSON). A value that does not exist renders as
// nothing. jsonencode writes JSON: a JSON value as compact JSON with member
// order, number spelling and escapes kept as in the document (HCL's
// jsonencode would sort keys; the message's order is kept instead), a
// string variable as a JSON string, integration.response.statuscode as a
// number, and a value that does not exist as null, so a jsonencode always
// yields valid JSON. upper, lower, trimspace, base64encode (standard,
// padded) and urlencode (query escaping, space as '+') work on the text
// form. Header names are case-insensitive; several values of a header are
// joined with ", ".
//
// HTTP and MOCK details:
//
//   - The request template is the one whose key template_selection_expression
//     gives for the message (without an expression: $default), else
//     $default. With no such template, WHEN_NO_MATCH (the default) passes
//     the message through unchanged, WHEN_NO_TEMPLATES passes it through only
//     when there are no request templates at all, NEVER never does; a
//     message that may not pass is KindUnsupportedMediaType (D-44's
//     "Unsupported Media Type" frame, Error.ClientMessage; 415 on $connect).
//   - The integration response is the first /regex/ in source order that
//     matches the whole status code, else $default (D-44), resolved for
//     100..599 by a table built when preparing. Its template is selected the
//     same way, on the message. No response block, or none that matches,
//     means Response.HasBody false (D-44: nothing is sent). A selected
//     response without a template for the key passes an HTTP reply's body
//     through unchanged and sends nothing for a MOCK.
//   - MOCK: the rendered request template (or the passed-through message)
//     is read for the statusCode member of a JSON object: a whole number or
//     a string of digits within 100..599. When it is not a JSON object, or
//     has no statusCode or a null one, the status is 200; any other
//     statusCode is KindInvalidRequest. Response.StatusCode is that status
//     and Header is nil; integration.response.body is null and raw_body "".
//     content_handling does not apply to MOCK.
//   - content_handling (AWS's WebSocket contentHandlingStrategy, with the one
//     attribute the configuration has): CONVERT_TO_BINARY base64-decodes the
//     HTTP request payload (the rendered template or the message; a payload
//     that is not base64 is KindInvalidRequest and nothing is sent);
//     CONVERT_TO_TEXT base64-encodes an HTTP reply that is not valid UTF-8
//     before response templates see it, so it can be sent as text. A text
//     payload under CONVERT_TO_TEXT and a reply under CONVERT_TO_BINARY are
//     unchanged. A final reply that is not valid UTF-8 has Response.Binary
//     set.
//   - Response.StatusCode is the backend's status for HTTP, so the caller
//     applies D-39 (≥ 500 fails) as for HTTP_PROXY.
package integration
