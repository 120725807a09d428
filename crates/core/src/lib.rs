//! Signalbox's domain: values parsed once at the edge, and the pieces of policy that need no
//! I/O. Everything here is pure so it can be tested without a server.
#![forbid(unsafe_code)]

pub mod actions;
pub mod clock;
pub mod email;
pub mod endpoint_name;
pub mod event_types;
pub mod flags;
pub mod id;
pub mod name;
pub mod password;
pub mod retry;
pub mod role;
pub mod signing;
pub mod ssrf;
pub mod timestamp;
pub mod typed;

pub use clock::{Clock, ManualClock, SystemClock};
pub use email::Email;
pub use endpoint_name::EndpointName;
pub use event_types::{EventType, Subscription};
pub use id::new_id;
pub use name::DisplayName;
pub use password::Password;
pub use role::{Role, TokenScope};
pub use timestamp::Timestamp;
