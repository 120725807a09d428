//! Building blocks of the Unstuck-compatible typed Signals API (`POST /signals`): a body
//! names a `signal_type`, a `source`, when it happened and who it is about, and the signal is
//! captured once (idempotently), then qualified against ICP and persona profiles.
//!
//! Everything here is pure, so the HTTP handler only parses, calls, and stores:
//!
//! - [`identity`]: who a signal is about, in canonical form (email, LinkedIn URL, domain);
//! - [`slug`]: a custom signal type's declared name as the API spells it;
//! - [`natural_key`]: the idempotency key over `(signal_type, source, identity, occurred_at)`;
//! - [`scoring`]: weighted CEL rules that score a signal against a profile, and the best fit;
//! - [`cel_json`]: JSON values as CEL sees them.

pub mod cel_json;
pub mod identity;
pub mod native;
pub mod natural_key;
pub mod scoring;
pub mod slug;

pub use cel_json::to_val;
pub use identity::{
    Identity, Problem, RawIdentity, canonical_linkedin_url, normalise, normalise_domain, normalise_email,
};
pub use natural_key::{natural_key, parse_occurred_at};
pub use scoring::{
    CompiledProfile, ConditionError, Profile, ProfileError, Rule, Score, Variables, best, compile_condition,
    compile_profile, evaluate,
};
pub use slug::{SlugError, slugify};
