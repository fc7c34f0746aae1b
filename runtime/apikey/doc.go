// Package apikey checks API keys against usage plans (SPEC RT-51, RT-25,
// D-26, D-41): whether the key a handshake presents may connect to an API
// stage, and whether each request of that key (the handshake and every
// message of the connection) is within its usage plan's throttle and quota.
//
// # Outcomes
//
// Keys.Check answers, in this order:
//
//   - 403 when no key was presented, the value is no api_key's, the key is
//     disabled, or none of the key's usage plans covers the API and stage;
//   - 429 when the plan's per-key token bucket is empty (Throttled) or the
//     key has used the plan's quota for the current period
//     (QuotaExceeded). The bucket is asked first: a request it throttles is
//     not counted against the quota, and a request the quota refuses has
//     still taken a token (harmless: the quota refuses the key's requests
//     anyway until the period ends);
//   - 200 otherwise, with the key's name (context.identity.apiKeyId) and a
//     Ref, the hash of the value, that the gateway keeps on the connection
//     and passes to Keys.CheckRef for each message: messages are counted
//     against the same bucket and quota, by the configuration in force when
//     they arrive.
//
// A key belongs to at most one usage plan per API stage (AWS's rule;
// Compile refuses a configuration that breaks it), so a check never has to
// choose between plans.
//
// # Quota periods
//
// AWS documents a quota as "the maximum number of requests that can be made
// in a given time period", DAY, WEEK or MONTH (API Gateway API reference,
// QuotaSettings), with an offset that, in the SDK documentation of
// QuotaSettings (for example aws-sdk-apigateway for Ruby), is "the day that
// a time period starts. For example, with a time period of WEEK, an offset
// of 0 starts on Sunday, and an offset of 1 starts on Monday". wsgwctl's
// quota block has no offset, so it is AWS's default offset 0: periods are
// UTC calendar periods starting at their boundary, and a week starts on
// Sunday, not Monday (ISO 8601's week):
//
//   - DAY: 00:00 UTC to 00:00 UTC;
//   - WEEK: Sunday 00:00 UTC to the next Sunday 00:00 UTC;
//   - MONTH: the 1st, 00:00 UTC, to the 1st of the next month.
//
// A new period starts from zero; unused requests do not carry over. AWS
// says quotas are targets that clients may sometimes exceed; here they are
// exact: a Counter admits at most the limit per period, under any
// concurrency (one mutex per key and plan, held for a few comparisons).
//
// # Reloads
//
// Buckets live in the gateway's throttle.Set (keys "usage_plan:PLAN/KEY")
// and quota counters in a Counters store (keys "PLAN/KEY"), both owned by
// the gateway and passed to Compile, so compiling a new configuration keeps
// every key's tokens and counts while the plan's limits (for a bucket) or
// period (for a counter) stay the same. A changed quota limit applies to
// the count so far; a changed period starts a new count. The gateway sweeps
// both stores after each successful reload.
//
// # Secrets
//
// Key values are hashed with SHA-256 at Compile and on each Check, and keys
// are found by hash: the lookup compares hashes, never the secret, so its
// timing reveals nothing about how close a guess was. Compile's errors name
// keys, never values.
//
// # What it must not do
//
// The package does not select the key from a request (the gateway
// evaluates api_key_selection_expression, possibly from the authorizer's
// usageIdentifierKey), write responses, log, or start goroutines; it does
// no I/O. It imports the model and runtime/throttle only.
package apikey
