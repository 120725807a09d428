//! Signal endpoints: admin API (`/v1` and Unleash paths), ingest, history and live view.

mod admin;
mod history;
mod ingest;
mod limits;
mod stream;
mod unleash;
