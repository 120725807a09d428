//! JSON as CEL sees it, for the variables typed-signal rules are evaluated against.
//!
//! Integers become CEL `int`, not `uint` as `cel::to_value` would make them: CEL has no
//! arithmetic or comparison between `int` and `uint`, and literals in a rule are `int`, so
//! `signals.context.team_size * 2 > 10` would otherwise never hold. Numbers with a fraction,
//! or beyond the range of `int`, become `double`. (`actions::condition` has a private copy of
//! this rule and could use this one.)

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

pub fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let entries: HashMap<String, cel::Value> = map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            entries.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(source: &str, value: Value) -> cel::Value {
        let mut context = cel::Context::default();
        context.add_variable_from_value("v", to_cel(&value));
        cel::Program::compile(source).unwrap().execute(&context).unwrap()
    }

    #[test]
    fn integers_are_cel_ints_so_they_mix_with_literals() {
        assert_eq!(to_cel(&json!(12)), cel::Value::Int(12));
        assert_eq!(to_cel(&json!(-3)), cel::Value::Int(-3));
        assert_eq!(eval("v.team_size * 2 > 10", json!({"team_size": 12})), cel::Value::Bool(true));
    }

    #[test]
    fn fractions_and_huge_numbers_are_doubles() {
        assert_eq!(to_cel(&json!(0.5)), cel::Value::Float(0.5));
        assert_eq!(to_cel(&json!(u64::MAX)), cel::Value::Float(u64::MAX as f64));
    }

    #[test]
    fn strings_lists_maps_and_null_keep_their_shape() {
        assert_eq!(eval("v.plan_tier == 'free'", json!({"plan_tier": "free"})), cel::Value::Bool(true));
        assert_eq!(eval("size(v.tags) == 2 && 'a' in v.tags", json!({"tags": ["a", "b"]})), cel::Value::Bool(true));
        assert_eq!(eval("v.nested.deep.flag", json!({"nested": {"deep": {"flag": true}}})), cel::Value::Bool(true));
        assert_eq!(eval("v.gone == null", json!({"gone": null})), cel::Value::Bool(true));
    }
}
