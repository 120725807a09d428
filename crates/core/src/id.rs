//! Ids in the `/v1` API are UUID v7: unique without coordination and roughly time-ordered, so
//! indexes on them stay append-mostly.

use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
