// Package authorizer runs the CUSTOM (Lambda REQUEST) authorizers of
// $connect routes (RT-50, D-45).
//
// New compiles an api's authorizer block for one stage: the uri rendered
// with the stage's variables once, the identity sources parsed, the timeout
// and result cache set up. Authorizer.Authorize then decides one handshake:
//
//  1. The identity sources are resolved against the CONNECT request. Any
//     that is missing or empty answers 401 without calling the authorizer.
//     route.request.header.X matches the header name case-insensitively and
//     takes its last value; route.request.querystring.X takes the last
//     value of the parameter, unescaped; stageVariables.X comes from the
//     stage; context.X is integration.Request.ContextValue.
//  2. With result_ttl_seconds > 0, a result cached for the same api, stage
//     and identity-source values answers without a call.
//  3. The AWS REQUEST-authorizer event for a WebSocket $connect is POSTed as
//     JSON to the uri, bounded by timeout_ms (10 s when not positive).
//  4. The reply is read as the AWS authorizer result and mapped to a
//     status: 200 when the policy allows the method ARN, 403 when it denies
//     it explicitly or nothing allows it, 401 for an HTTP 401 from the
//     endpoint or a function error whose errorMessage is "Unauthorized",
//     500 (with an error for logs) for everything else.
//
// The event follows AWS's "Control access to WebSocket APIs with AWS Lambda
// REQUEST authorizers" page: type "REQUEST", methodArn
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect, headers
// and multiValueHeaders as in the CONNECT proxy event (the handshake's
// headers as sent, then X-Forwarded-For, -Port and -Proto),
// queryStringParameters and multiValueQueryStringParameters ({} when the
// handshake had no query, RT-50), stageVariables ({} when the stage has
// none, as in AWS's example) and requestContext, the CONNECT requestContext
// with the connection id the connection keeps (D-45). The runtime/integration
// package keeps its event encoder unexported, so the event is encoded here
// with the same field set and rules (repeated keys: last value in the single
// map, all values in the multi-value map, D-42).
//
// Policy evaluation (EvaluatePolicy) follows the IAM policy reference: a
// statement applies when one of its Action patterns matches
// "execute-api:Invoke" ignoring ASCII case (IAM action names are case
// insensitive) and one of its Resource patterns matches the method ARN
// case-sensitively. In both, '*' matches any run of characters, including
// ':' and '/', and '?' exactly one character (D-45); IAM's rule that a '*'
// stays within its ARN segment unless it ends the segment is not applied:
// it only differs for a '*' in the middle of a segment whose match would
// have to run across a ':'. An applicable Deny wins over any Allow; without an
// applicable Allow the result is NoMatch (403). Effect must be exactly
// "Allow" or "Deny" (IAM: the value is case sensitive); a reply with another
// Effect, or without a policyDocument, is invalid (500). Statements using
// only NotAction or NotResource, and Condition blocks, are not evaluated:
// such a statement never applies.
//
// Reply details: principalId may be absent (""); context values must be
// strings, numbers or booleans (AWS rejects objects and arrays), keep their
// JSON types (numbers as float64, D-42), and null values are dropped;
// usageIdentifierKey is kept for the API key check that follows (D-26). A
// reply body over integration.MaxLambdaResultBytes is invalid.
//
// Caching: only 200 and 403 outcomes are cached, for result_ttl_seconds,
// keyed by api id, stage and the identity-source values, in a bounded cache
// (Options.CacheSize, default 10,000 entries) that drops expired entries on
// access and, when full, the entry that expires first. An authorizer without
// identity sources never caches, since every client would share one key
// (AWS requires identity sources when caching is on). A cached Result has
// Cached set and Latency 0: no call was made.
//
// The package keeps no per-connection state, never writes to a client and
// does not decide what the handshake answers beyond Result.Status: the
// gateway applies it, keeps Result.Authorizer() on the connection for later
// events (RT-40) and runs the API key check (D-26).
package authorizer
