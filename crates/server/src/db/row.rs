//! Decoding stored text back into domain values. Ids, roles and times are stored as TEXT on
//! both backends; a value that does not parse is corrupt data, hence an internal error.

use signalbox_core::{Role, Timestamp};
use uuid::Uuid;

use crate::Error;

pub fn id(text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|e| Error::internal(anyhow::anyhow!("stored id {text:?}: {e}")))
}

pub fn time(text: &str) -> Result<Timestamp, Error> {
    Timestamp::parse(text).map_err(|e| Error::internal(anyhow::anyhow!("stored time {text:?}: {e}")))
}

pub fn opt_time(text: Option<&str>) -> Result<Option<Timestamp>, Error> {
    text.map(time).transpose()
}

pub fn role(text: &str) -> Result<Role, Error> {
    text.parse().map_err(|e| Error::internal(anyhow::anyhow!("stored role {text:?}: {e}")))
}
