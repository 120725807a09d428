//! What an action set matches: payload filters with Unleash's constraint operators, and an
//! optional CEL condition for what the operators cannot say. Pure: the server parses a set's
//! match once (when it is saved or loaded) and evaluates it against each signal's payload.

pub mod condition;
pub mod filter;

pub use condition::Condition;
pub use filter::{Filter, FilterLimits, Filters};
