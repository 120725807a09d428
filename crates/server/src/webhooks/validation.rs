//! Checking webhook input: each problem is a 422 naming its field.

use signalbox_core::Subscription;
use signalbox_core::retry::{InvalidSchedule, RetrySchedule};

use super::destination::Destinations;
use crate::Error;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_SECRET_BYTES: usize = 256;

pub fn name(text: &str) -> Result<String, Error> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_field("name", "must not be empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid_field("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(trimmed.to_owned())
}

/// The URL rules and the SSRF guard; returns the URL as given.
pub async fn url(destinations: &Destinations, text: &str) -> Result<String, Error> {
    destinations.check(text).await.map_err(|problem| Error::invalid_field("url", problem.to_string()))?;
    Ok(text.to_owned())
}

pub fn secret(text: &str) -> Result<String, Error> {
    if text.is_empty() {
        return Err(Error::invalid_field("secret", "must not be empty (leave it out, or null, for no signatures)"));
    }
    if text.len() > MAX_SECRET_BYTES {
        return Err(Error::invalid_field("secret", format!("must be at most {MAX_SECRET_BYTES} bytes")));
    }
    Ok(text.to_owned())
}

pub fn events(list: Vec<String>) -> Result<Vec<String>, Error> {
    match Subscription::parse(&list) {
        Ok(_) => Ok(list),
        Err(unknown) => Err(Error::invalid_field(format!("events[{}]", unknown.index), unknown.to_string())),
    }
}

pub fn retry_schedule(list: Vec<String>) -> Result<Vec<String>, Error> {
    match RetrySchedule::parse(&list) {
        Ok(_) => Ok(list),
        Err(InvalidSchedule::TooLong) => {
            Err(Error::invalid_field("retry_schedule", InvalidSchedule::TooLong.to_string()))
        }
        Err(InvalidSchedule::Entry { index, message }) => {
            Err(Error::invalid_field(format!("retry_schedule[{index}]"), message))
        }
    }
}
