//! Typed signals as stored and as the API shows them (the Unstuck seed's shapes).

use serde::{Deserialize, Serialize};
use signalbox_core::Timestamp;
use uuid::Uuid;

use crate::http::Patch;

/// The signal types every workspace has (name, slug, what they are for).
pub const BUILTIN_TYPES: &[(&str, &str, &str)] = &[
    ("Custom event", "custom_event", "Anything your own systems send."),
    ("Website visit", "website_visit", "A visit to a tracked page."),
    ("Product usage", "product_usage", "Something a user did in the product."),
    ("Job change", "job_change", "A person started a new role."),
    ("Funding round", "funding_round", "A company raised money."),
    ("Hiring", "hiring", "A company is hiring for a relevant role."),
];

/// A named bucket for captures of a type: the first rule whose CEL condition holds names the
/// capture's `sub_rule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubRule {
    pub name: String,
    /// CEL over `signals` (signal_type, source, event_name, occurred_at, context) and `identity`.
    pub condition: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignalType {
    pub id: Uuid,
    /// What `signal_type` in `POST /signals` names.
    pub slug: String,
    pub name: String,
    pub source_description: Option<String>,
    pub builtin: bool,
    pub sub_rules: Vec<SubRule>,
    /// Qualify captures of this type inside the request.
    pub autoqualify: bool,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignalTypeIn {
    /// Its slug is made from it: lower-case, each run of other characters one `_`.
    pub name: String,
    pub source_description: Option<String>,
    #[serde(default)]
    pub sub_rules: Vec<SubRule>,
    /// Default `false`.
    pub autoqualify: Option<bool>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// A partial change; a built-in type takes only `enabled`, `autoqualify` and `sub_rules`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SignalTypePatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub source_description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<SubRule>>)]
    pub sub_rules: Patch<Vec<SubRule>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub autoqualify: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
}
