//! An action set's optional CEL condition over the signal's `payload`, for what the filter
//! operators cannot say (`payload.errors > 10 && payload.env in ['prod', 'eu-prod']`).
//!
//! Compiled once when the set is saved or loaded (the `cel` crate: the maintained CEL
//! implementation for Rust). Evaluation is total: anything but `true` — `false`, another
//! type, or an error such as a missing key — means the condition does not hold.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// Longest condition accepted, in characters.
pub const MAX_LENGTH: usize = 2000;

/// A compiled condition.
#[derive(Clone)]
pub struct Condition {
    source: String,
    program: Arc<cel::Program>,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.source).finish()
    }
}

impl Condition {
    /// Compiles `source`; the error says what is wrong and where.
    pub fn compile(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("must not be empty; leave it out to match on filters only".into());
        }
        if source.chars().count() > MAX_LENGTH {
            return Err(format!("at most {MAX_LENGTH} characters"));
        }
        let program = cel::Program::compile(source).map_err(|e| format!("is not valid CEL: {e}"))?;
        // Comprehension macros bind their own names (`items.exists(i, i.sku == 'a')`).
        let bound = regex_lite::Regex::new(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
            .expect("a valid pattern");
        let bound: Vec<&str> = bound.captures_iter(source).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect();
        let unknown: Vec<String> = program
            .references()
            .variables()
            .into_iter()
            .filter(|v| *v != "payload" && !bound.contains(v))
            .map(str::to_owned)
            .collect();
        if !unknown.is_empty() {
            return Err(format!("may only use the variable `payload`, not {}", unknown.join(", ")));
        }
        Ok(Self { source: source.to_owned(), program: Arc::new(program) })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the condition is `true` for this payload.
    pub fn holds(&self, payload: &Value) -> bool {
        let mut context = crate::typed::scoring::STANDARD.new_inner_scope();
        context.add_variable_as_val("payload", crate::typed::cel_json::to_val(payload));
        matches!(self.program.execute(&context), Ok(cel::Value::Bool(true)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_condition_sees_the_payload_and_only_true_holds() {
        let c = Condition::compile("payload.errors > 10 && payload.env in ['prod', 'eu-prod']").unwrap();
        assert!(c.holds(&json!({"errors": 12, "env": "prod"})));
        assert!(!c.holds(&json!({"errors": 3, "env": "prod"})));
        assert!(c.holds(&json!({"errors": 12.5, "env": "eu-prod"})));
        let size = Condition::compile("size(payload.items) >= 2 && payload.items.exists(i, i.sku == 'a')").unwrap();
        assert!(size.holds(&json!({"items": [{"sku": "a"}, {"sku": "b"}]})));
        assert!(!Condition::compile("payload.name").unwrap().holds(&json!({"name": "x"})));
    }

    #[test]
    fn integers_and_fractions_mix_in_arithmetic_and_comparisons() {
        let c = Condition::compile("payload.errors > payload.threshold * 2 && payload.rate < 0.5").unwrap();
        assert!(c.holds(&json!({"errors": 13, "threshold": 6, "rate": 0.25})));
        assert!(!c.holds(&json!({"errors": 12, "threshold": 6, "rate": 0.25})));
        assert!(Condition::compile("payload.ratio * 2.0 > 1.0").unwrap().holds(&json!({"ratio": 0.75})));
    }

    #[test]
    fn a_missing_key_does_not_hold_and_has_guards_it() {
        let c = Condition::compile("payload.level == 'high'").unwrap();
        assert!(!c.holds(&json!({})));
        let guarded = Condition::compile("has(payload.level) && payload.level == 'high'").unwrap();
        assert!(!guarded.holds(&json!({"other": 1})));
        assert!(guarded.holds(&json!({"level": "high"})));
    }

    #[test]
    fn bad_conditions_are_refused_with_a_reason() {
        assert!(Condition::compile("payload.a ==").unwrap_err().contains("not valid CEL"));
        assert!(Condition::compile("signal.a == 1").unwrap_err().contains("only use the variable `payload`"));
        assert!(Condition::compile("  ").is_err());
    }
}
