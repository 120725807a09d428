//! JSON as CEL sees it, for the variables typed-signal rules are evaluated against.
//!
//! Integers become CEL `int`, not `uint` as `cel::to_value` would make them: CEL has no
//! arithmetic or comparison between `int` and `uint`, and literals in a rule are `int`, so
//! `signals.context.team_size * 2 > 10` would otherwise never hold. Numbers with a fraction,
//! or beyond the range of `int`, become `double`. (`actions::condition` uses it too.)

use std::collections::HashMap;

use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString};
use cel::common::value::Val;
use serde_json::Value;

/// `value` as a CEL value that borrows its strings and keys from it. Built straight into the
/// interpreter's own representation: going through `cel::Value` first (what
/// `Context::add_variable_from_value` takes) copies every string and builds every map twice,
/// which cost more than evaluating a profile's rules.
pub fn to_val(value: &Value) -> Box<dyn Val + '_> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => Box::new(CelList::from(items.iter().map(to_val).collect::<Vec<_>>())),
        Value::Object(map) => Box::new(CelMap::from(
            map.iter().map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v))).collect::<HashMap<_, _>>(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(source: &str, value: Value) -> cel::Value {
        let mut context = cel::Context::default();
        context.add_variable_as_val("v", to_val(&value));
        cel::Program::compile(source).unwrap().execute(&context).unwrap()
    }

    #[test]
    fn integers_are_cel_ints_so_they_mix_with_literals() {
        assert_eq!(eval("v", json!(12)), cel::Value::Int(12));
        assert_eq!(eval("v", json!(-3)), cel::Value::Int(-3));
        assert_eq!(eval("v.team_size * 2 > 10", json!({"team_size": 12})), cel::Value::Bool(true));
    }

    #[test]
    fn fractions_and_huge_numbers_are_doubles() {
        assert_eq!(eval("v", json!(0.5)), cel::Value::Float(0.5));
        assert_eq!(eval("v", json!(u64::MAX)), cel::Value::Float(u64::MAX as f64));
    }

    #[test]
    fn strings_lists_maps_and_null_keep_their_shape() {
        assert_eq!(eval("v.plan_tier == 'free'", json!({"plan_tier": "free"})), cel::Value::Bool(true));
        assert_eq!(eval("size(v.tags) == 2 && 'a' in v.tags", json!({"tags": ["a", "b"]})), cel::Value::Bool(true));
        assert_eq!(eval("v.nested.deep.flag", json!({"nested": {"deep": {"flag": true}}})), cel::Value::Bool(true));
        assert_eq!(eval("v.gone == null", json!({"gone": null})), cel::Value::Bool(true));
    }
}
