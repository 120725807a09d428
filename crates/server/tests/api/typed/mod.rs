//! Typed signals (issue 9): `POST /signals`, signal types, idempotency, rate limits and leads,
//! through the real server.

mod ingest;
mod qualification;
