// Package sigv4 verifies AWS Signature Version 4 signatures on requests
// that reach the gateway (SPEC RT-2, RT-52, D-28): @connections calls made
// by the ApiGatewayManagementApi client and WebSocket handshakes of AWS_IAM
// routes, signed for the service "execute-api" by one of the configured
// `credentials` blocks.
//
// # What is verified
//
// Both forms AWS defines are accepted, never both on one request:
//
//   - the Authorization header, "AWS4-HMAC-SHA256 Credential=AKID/DATE/
//     REGION/execute-api/aws4_request, SignedHeaders=..., Signature=...",
//     with the signing time in X-Amz-Date (signed). The request must be
//     signed within 5 minutes of the verifier's clock, either way (AWS's
//     clock-skew rule for header signatures);
//   - the presigned query string (X-Amz-Algorithm, X-Amz-Credential,
//     X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature),
//     which browsers use for WebSocket handshakes since they cannot set
//     headers. X-Amz-Expires is required, 1 to 604800 seconds (7 days, AWS's
//     maximum); the URL is valid from 5 minutes before X-Amz-Date (skew)
//     until X-Amz-Date + X-Amz-Expires.
//
// Any region is accepted: the credential scope's region is the one signed.
// The service must be execute-api, the scope's date must be X-Amz-Date's
// date, and "host" must be a signed header (and "x-amz-date" for the header
// form). X-Amz-Security-Token is accepted and, like any header, covered by
// the signature when signed; configured credentials have no session token,
// so its value is not checked further. The Date header is not accepted in
// place of X-Amz-Date (the AWS SDKs always send X-Amz-Date).
//
// For an unknown access key id the signature is still computed, with a
// random secret, so that a configured and an unconfigured key id take the
// same time to refuse. Verify costs about 8 µs on the 2-core development
// machine (go test -run '^$' -bench Verify -benchmem ./runtime/sigv4/);
// signing keys are derived on every call rather than cached, which keeps
// the Verifier free of mutable state.
//
// # Canonical request
//
// The expected signature is computed here from crypto/sha256 and
// crypto/hmac, following AWS's "Create a signed AWS API request" steps, and
// compared with the presented one by hmac.Equal. Re-signing a copy of the
// request with aws-sdk-go-v2's signer was the alternative; it was not taken
// because the signer works from client-side state that a server does not
// have in the same form: it signs URL.EscapedPath of the request it is
// given (a server's URL.Path is already decoded, and EscapedPath re-derives
// an escaping that need not be the one on the wire), it signs
// Content-Length from the request's ContentLength field, it hoists X-Amz-*
// headers into the query when presigning, and it silently drops query pairs
// that do not parse. Each of those would make verification depend on how
// net/http happened to normalise the request. The tests check this
// implementation against the real signer instead: requests signed by
// v4.Signer.SignHTTP and PresignHTTP, and a full round trip through the
// real apigatewaymanagementapi client.
//
// The canonical request is built exactly as the SDK's signer does for
// execute-api (and as the ApiGatewayManagementApi client, which does not set
// DisableURIPathEscaping, signs it):
//
//   - the path is the path as sent on the wire (from RequestURI, so "@" or
//     "%40", and ids such as "abc%3D", are taken literally), escaped once
//     more: every byte other than A-Z a-z 0-9 - _ . ~ and "/" becomes %XX.
//     For the SDK's "/prod/@connections/abc%3D" that is
//     "/prod/%40connections/abc%253D". Dot segments are not removed, as the
//     SDK does not remove them;
//   - the query is every name=value pair (X-Amz-Signature excluded), each
//     decoded ("+" is a space) and re-encoded with every byte outside the
//     unreserved set as %XX, sorted by encoded name then encoded value. A
//     query that does not parse is rejected rather than partly signed;
//   - each signed header is its lowercase name, ":", and its values with
//     runs of spaces collapsed and ends trimmed, joined by ","; "host" is
//     the Host header (Request.Host); a signed header that the request does
//     not carry is an error;
//   - the payload hash is the SHA-256 of the body. An X-Amz-Content-Sha256
//     header must equal it (UNSIGNED-PAYLOAD is not accepted: execute-api
//     signs payloads).
//
// # What it must not do
//
// The package does not read request bodies (the caller reads them with its
// own limit and passes the bytes), write responses, log, or know anything
// of routes or stages: errors say what failed, for the gateway's logs, and
// the caller answers 403. Errors never contain secrets. It imports only the
// standard library.
package sigv4
