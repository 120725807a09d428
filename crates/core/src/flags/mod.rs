//! The feature-flag domain in Unleash's model: keys, strategies with constraints and
//! segments, and variants. Everything here is parsed and checked once, at the edge; a value
//! that passes is what the Unleash SDKs can evaluate.

pub mod eval;
pub mod keys;
pub mod semver;
pub mod strategy;
pub mod variants;

pub use keys::{EnvironmentKey, FlagKey, InvalidKey, ProjectKey};
pub use strategy::{Constraint, Operator, Strategy, StrategyProblem};
pub use variants::{Variant, VariantProblem};

/// A validation problem: the JSON path of the field at fault (relative to the list checked,
/// e.g. `[0].constraints[1].value`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// Flag types, as Unleash names them.
pub const FLAG_TYPES: &[&str] = &["release", "experiment", "operational", "kill-switch", "permission"];

/// Environment types.
pub const ENVIRONMENT_TYPES: &[&str] = &["development", "test", "staging", "production"];
