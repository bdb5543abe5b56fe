// Package apigw is the gateway of civicflow's public API: API keys, plans,
// rate limits and quotas, and the usage log. Its Middleware meters any
// public route group (the Explore v2.1 API first): it identifies the
// caller, takes one call from its limits, sets the IETF RateLimit headers,
// answers 429 when a limit is reached, and logs the call.
//
// # Keys
//
// A key is "cfk_" followed by 52 base32 characters (256 random bits). It
// travels as "Authorization: Apikey KEY" or "?apikey=KEY" (removed from the
// query string the usage log keeps). Only its hex SHA-256 is stored — a
// fast hash is right for a high-entropy secret, as for the staff API
// tokens — with a 12-character display prefix. A key is looked up by hash
// (an index) and the stored hash compared in constant time. Verified keys
// and refusals are cached per process for KeyTTL (500 ms by default), so a
// key revoked on one process answers 401 on every process within a second.
// A rotation issues a new key of the same family; the old one keeps working
// until its overlap ends (its expiry is brought forward).
//
// # Limits
//
// Every caller is a subject: "consumer:ID" for a key of a consumer (every
// key of a reuser shares its limits, so rotating gives no fresh quota),
// "key:FAMILY" for a key without consumer, "addr:IP" for anonymous callers
// (the TCP peer address: X-Forwarded-For is not trusted here). Its plan
// gives a token bucket (rate per second, burst) and daily and monthly
// quotas (UTC calendar windows).
//
// The counters live in the database (table api_limits), shared by every
// serve process on one PostgreSQL and kept across restarts. One call is
// one conditional upsert, store.TakeAPILimit:
//
//	INSERT … VALUES (full bucket − 1, day 1, month 1)
//	ON CONFLICT (subject) DO UPDATE SET tokens = refill(tokens) − 1, day_used = day_used + 1, …
//	WHERE refill(tokens) >= 1 AND day_used < per_day AND month_used < per_month
//	RETURNING …
//
// The row lock PostgreSQL takes for the update (SQLite: its one writer)
// serialises concurrent takes: the second one re-evaluates the WHERE on the
// row the first one wrote, so two processes can never both take the last
// token, and under any burst exactly the allowance passes. No row returned
// means refused; the row is then read to compute Retry-After and the
// headers.
//
// The in-process fast path has two parts. Allowed calls: while plenty is
// left (at least 4×LeaseMax calls after the last take, LeaseMax = 50 by
// default), one take reserves up to LeaseMax calls (the same upsert with N)
// and this process serves the next calls of that subject from its lease,
// without a round trip. Leases are given back (bucket refilled, counters
// decremented) after LeaseTTL (1 s) unused, when the window or the plan
// changes, and on Close. Below 4×LeaseMax the calls are taken one by one,
// so the last calls of a window are exact: the total that passes is
// exactly the allowance. The price: for at most LeaseTTL another process
// may refuse a call while this one still holds reserved calls, and a
// process killed with SIGKILL loses its leases (at most LeaseMax calls per
// subject, counted as used). Refusals, the bulk of a flood: a refused
// subject is answered 429 locally until the moment its next call could
// pass (the next token, the next day or month), at most one second. Takes
// by other processes only push that moment further; only a plan edited by
// an admin is seen up to one second late. Plans are cached for one second.
//
// On PostgreSQL the counters are written through a small pool with
// synchronous_commit off: a commit does not wait for the WAL flush, so a
// database crash may forget the last fraction of a second of counts
// (never corrupt them); an application restart loses nothing.
//
// # Headers
//
// Every metered answer carries the structured fields of
// draft-ietf-httpapi-ratelimit-headers (-07 and later):
//
//	RateLimit-Policy: "burst";q=20;w=4, "day";q=5000;w=86400, "month";q=100000;w=2592000
//	RateLimit: "burst";r=19;t=1, "day";r=4999;t=3600, "month";r=99999;t=86400
//
// and 429 answers a Retry-After (seconds) and Opendatasoft's quota error
// body ({"errorcode":10002,"reset_time","limit_time_unit","call_limit",
// "error"}, plus the Explore v2.1 "error_code" and "message").
//
// # Usage log
//
// Every metered call (200, 4xx, 429) becomes a row of api_usage: key or
// address, consumer, dataset, endpoint (route), query string, status,
// bytes, latency. UsageWriter writes them asynchronously in batches, at
// least every FlushEvery (1 s) and on Close (the app's graceful shutdown).
// When its buffer is full, requests wait for room (back-pressure) rather
// than drop rows; a failed write is retried. After a hard kill, at most the
// last flush interval is lost. /metrics shows
// civicflow_apigw_usage_written_total and civicflow_apigw_usage_pending.
package apigw
