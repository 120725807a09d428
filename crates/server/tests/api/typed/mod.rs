//! Typed signals (issue 9): `POST /signals`, signal types, idempotency, rate limits and leads,
//! through the real server.

mod access;
mod batching;
mod idempotency;
mod ingest;
mod leads;
mod limits;
mod normalisation;
mod qualification;
mod support;
mod types;
mod validation;
