//! Payload filters: `{"<dotted.path>": {"operator","value"|"values","inverted","caseInsensitive"}}`.
//!
//! Semantics, as documented for users:
//! - every filter must hold;
//! - a path walks objects by key and arrays by index (`items.0.sku`);
//! - the value found must be a scalar: a string is used as is, a number or boolean as its
//!   JSON text (so `NUM_*` compare numbers and numeric strings alike, as Unleash parses
//!   numbers from strings); a missing path, `null`, an object or an array satisfies no
//!   operator — not even `NOT_IN` — and `inverted` then holds;
//! - the operators are the one implementation flag constraints use
//!   ([`crate::flags::eval::operator_holds`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::flags::Problem;
use crate::flags::eval::{Field, operator_holds};
use crate::flags::strategy::{Constraint, Operator, check_constraint};

/// The operators an action-set filter may use (Unleash's list for actions).
pub const OPERATORS: &[Operator] = &[
    Operator::In,
    Operator::NotIn,
    Operator::StrContains,
    Operator::StrStartsWith,
    Operator::StrEndsWith,
    Operator::NumEq,
    Operator::NumGt,
    Operator::NumGte,
    Operator::NumLt,
    Operator::NumLte,
    Operator::DateAfter,
    Operator::DateBefore,
    Operator::SemverEq,
    Operator::SemverGt,
    Operator::SemverLt,
];

/// One filter on a payload path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Filter {
    /// One of `IN`, `NOT_IN`, `STR_CONTAINS`, `STR_STARTS_WITH`, `STR_ENDS_WITH`, `NUM_EQ`,
    /// `NUM_GT`, `NUM_GTE`, `NUM_LT`, `NUM_LTE`, `DATE_AFTER`, `DATE_BEFORE`, `SEMVER_EQ`,
    /// `SEMVER_GT`, `SEMVER_LT`.
    pub operator: String,
    /// For `NUM_*`, `DATE_*` and `SEMVER_*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For `IN`, `NOT_IN` and `STR_*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default)]
    pub inverted: bool,
    /// For `STR_*`.
    #[serde(default, alias = "caseInsensitive")]
    pub case_insensitive: bool,
}

/// Filters by dotted payload path, in path order.
pub type Filters = BTreeMap<String, Filter>;

/// Count limits on filters (Unleash's defaults: 5 filters, 25 values each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    pub filters: usize,
    pub values: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        Self { filters: 5, values: 25 }
    }
}

fn is_list_operator(operator: Operator) -> bool {
    matches!(
        operator,
        Operator::In | Operator::NotIn | Operator::StrContains | Operator::StrStartsWith | Operator::StrEndsWith
    )
}

/// Checks filters; problems name `{at}.{path}.{field}` (e.g. `match.payload.level.value`).
pub fn check(filters: &Filters, limits: FilterLimits, at: &str) -> Result<(), Problem> {
    if filters.len() > limits.filters {
        return Err(Problem::new(at, format!("at most {} filters per action set", limits.filters)));
    }
    for (path, filter) in filters {
        let here = format!("{at}.{path}");
        if path.is_empty() || path.split('.').any(str::is_empty) || path.chars().count() > 200 {
            return Err(Problem::new(&here, "a path is 1-200 characters of dot-separated keys, e.g. data.level"));
        }
        let operator = Operator::parse(&filter.operator).filter(|o| OPERATORS.contains(o)).ok_or_else(|| {
            let known: Vec<&str> =
                Operator::ALL.iter().filter(|(_, o)| OPERATORS.contains(o)).map(|(name, _)| *name).collect();
            Problem::new(format!("{here}.operator"), format!("must be one of {}", known.join(", ")))
        })?;
        if is_list_operator(operator) {
            if filter.values.is_empty() {
                return Err(Problem::new(
                    format!("{here}.values"),
                    "is required for this operator: at least one value",
                ));
            }
            if filter.values.len() > limits.values {
                return Err(Problem::new(format!("{here}.values"), format!("at most {} values", limits.values)));
            }
        } else if !filter.values.is_empty() {
            return Err(Problem::new(format!("{here}.values"), "this operator compares with one `value`"));
        }
        let constraint = Constraint {
            context_name: path.clone(),
            operator: filter.operator.clone(),
            values: filter.values.clone(),
            value: filter.value.clone(),
            inverted: filter.inverted,
            case_insensitive: filter.case_insensitive,
        };
        check_constraint(&constraint, &here).map_err(|p| Problem::new(p.path, p.message))?;
    }
    Ok(())
}

/// The scalar at a dotted path, as text (see the module docs); `None` when missing or not a
/// scalar.
pub fn scalar_at(payload: &Value, path: &str) -> Option<String> {
    let mut here = payload;
    for key in path.split('.') {
        here = match here {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match here {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

impl Filter {
    /// Whether this filter holds for the payload (an unknown operator never holds).
    pub fn holds(&self, path: &str, payload: &Value) -> bool {
        let Some(operator) = Operator::parse(&self.operator) else { return false };
        let result = scalar_at(payload, path).is_some_and(|text| {
            operator_holds(
                operator,
                Some(Field::Text(&text)),
                &self.values,
                self.value.as_deref().unwrap_or_default(),
                self.case_insensitive,
            )
        });
        if self.inverted { !result } else { result }
    }
}

/// Whether every filter holds.
pub fn all_hold(filters: &Filters, payload: &Value) -> bool {
    filters.iter().all(|(path, filter)| filter.holds(path, payload))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(operator: &str, value: Option<&str>, values: &[&str]) -> Filter {
        Filter {
            operator: operator.into(),
            value: value.map(Into::into),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            inverted: false,
            case_insensitive: false,
        }
    }

    fn holds(f: &Filter, path: &str, payload: Value) -> bool {
        f.holds(path, &payload)
    }

    #[test]
    fn list_and_string_operators_compare_text_with_and_without_case() {
        let payload = json!({"env": "Production", "service": {"name": "checkout-api"}});
        assert!(holds(&filter("IN", None, &["Production", "staging"]), "env", payload.clone()));
        assert!(!holds(&filter("IN", None, &["production"]), "env", payload.clone()));
        assert!(holds(&filter("NOT_IN", None, &["staging"]), "env", payload.clone()));
        assert!(holds(&filter("STR_STARTS_WITH", None, &["checkout"]), "service.name", payload.clone()));
        assert!(holds(&filter("STR_ENDS_WITH", None, &["-api"]), "service.name", payload.clone()));
        assert!(holds(&filter("STR_CONTAINS", None, &["kout"]), "service.name", payload.clone()));
        let mut insensitive = filter("STR_CONTAINS", None, &["PROD"]);
        assert!(!holds(&insensitive, "env", payload.clone()));
        insensitive.case_insensitive = true;
        assert!(holds(&insensitive, "env", payload));
    }

    #[test]
    fn numbers_compare_numerically_and_numeric_strings_count_as_numbers() {
        let payload = json!({"errors": 12, "rate": "0.75", "word": "many"});
        assert!(holds(&filter("NUM_GT", Some("10"), &[]), "errors", payload.clone()));
        assert!(holds(&filter("NUM_GTE", Some("12"), &[]), "errors", payload.clone()));
        assert!(holds(&filter("NUM_EQ", Some("12.0"), &[]), "errors", payload.clone()));
        assert!(holds(&filter("NUM_LT", Some("1"), &[]), "rate", payload.clone()));
        assert!(holds(&filter("NUM_LTE", Some("0.75"), &[]), "rate", payload.clone()));
        assert!(!holds(&filter("NUM_GT", Some("0"), &[]), "word", payload));
    }

    #[test]
    fn dates_and_semantic_versions_compare_by_meaning() {
        let payload = json!({"at": "2026-11-29T12:00:00Z", "version": "2.10.0"});
        assert!(holds(&filter("DATE_AFTER", Some("2026-11-29T11:00:00Z"), &[]), "at", payload.clone()));
        assert!(holds(&filter("DATE_BEFORE", Some("2026-12-01T00:00:00+01:00"), &[]), "at", payload.clone()));
        assert!(holds(&filter("SEMVER_GT", Some("2.9.0"), &[]), "version", payload.clone()));
        assert!(holds(&filter("SEMVER_EQ", Some("2.10.0"), &[]), "version", payload.clone()));
        assert!(holds(&filter("SEMVER_LT", Some("3.0.0-rc.1"), &[]), "version", payload));
    }

    #[test]
    fn paths_walk_nested_objects_and_array_indexes() {
        let payload = json!({"alerts": [{"labels": {"severity": "critical"}}], "ok": true});
        assert!(holds(&filter("IN", None, &["critical"]), "alerts.0.labels.severity", payload.clone()));
        assert!(holds(&filter("IN", None, &["true"]), "ok", payload.clone()));
        assert!(!holds(&filter("IN", None, &["critical"]), "alerts.1.labels.severity", payload));
    }

    #[test]
    fn a_missing_or_non_scalar_value_satisfies_no_operator_and_inverted_then_holds() {
        let payload = json!({"list": [1, 2], "object": {"a": 1}, "nothing": null});
        for path in ["absent", "list", "object", "nothing", "list.x"] {
            let mut not_in = filter("NOT_IN", None, &["x"]);
            assert!(!holds(&not_in, path, payload.clone()), "{path}");
            not_in.inverted = true;
            assert!(holds(&not_in, path, payload.clone()), "{path}");
        }
    }

    #[test]
    fn inverted_negates_each_operator() {
        let payload = json!({"n": 5});
        let mut f = filter("NUM_GT", Some("3"), &[]);
        assert!(holds(&f, "n", payload.clone()));
        f.inverted = true;
        assert!(!holds(&f, "n", payload));
    }

    #[test]
    fn checks_name_the_field_at_fault() {
        let limits = FilterLimits::default();
        let bad = |path: &str, f: Filter| {
            check(&Filters::from([(path.to_owned(), f)]), limits, "match.payload").unwrap_err().path
        };
        assert_eq!(bad("a", filter("REGEX", Some("x"), &[])), "match.payload.a.operator");
        assert_eq!(bad("a", filter("IN", None, &[])), "match.payload.a.values");
        assert_eq!(bad("a", filter("NUM_GT", Some("many"), &[])), "match.payload.a.value");
        assert_eq!(bad("a", filter("DATE_AFTER", None, &[])), "match.payload.a.value");
        assert_eq!(bad("a..b", filter("IN", None, &["x"])), "match.payload.a..b");
        let many: Vec<&str> = (0..26).map(|_| "v").collect();
        assert_eq!(bad("a", filter("IN", None, &many)), "match.payload.a.values");
        let six: Filters = (0..6).map(|i| (format!("p{i}"), filter("IN", None, &["x"]))).collect();
        assert_eq!(check(&six, limits, "match.payload").unwrap_err().path, "match.payload");
    }
}
