//! JSON as CEL sees it, for the variables typed-signal rules are evaluated against.
//!
//! Integers become CEL `int`, not `uint` as `cel::to_value` would make them: CEL has no
//! arithmetic or comparison between `int` and `uint`, and literals in a rule are `int`, so
//! `signals.context.team_size * 2 > 10` would otherwise never hold. Numbers with a fraction,
//! or beyond the range of `int`, become `double`. (`actions::condition` uses it too.)

use std::collections::HashMap;
use std::sync::OnceLock;

use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
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

/// JSON variables (`signals`, `identity`, `lead`) that conditions look up by their whole
/// dotted name. The interpreter asks a context's resolver for `signals.context.team_size`
/// before anything else: answering with that scalar skips the lookups of `signals.context` and
/// `signals` and the two map selections it would otherwise make, which were most of the time a
/// rule took. Only scalars are answered by path. A name that reaches an object or a list, or
/// is missing, is left to the interpreter, which then resolves a shorter name and selects the
/// rest exactly as it would without this resolver (same values, same errors, `has()` alike);
/// a variable itself is converted once, when first read, and lent from then on.
pub struct JsonVariables<'v> {
    bindings: Vec<Binding<'v>>,
}

struct Binding<'v> {
    name: &'v str,
    value: &'v Value,
    /// `value` for CEL, once something reads the variable whole.
    converted: OnceLock<Box<dyn Val + 'v>>,
}

impl<'v> JsonVariables<'v> {
    pub fn new(bindings: &[(&'v str, &'v Value)]) -> Self {
        let bindings = bindings.iter().map(|&(name, value)| Binding { name, value, converted: OnceLock::new() });
        Self { bindings: bindings.collect() }
    }

    /// The JSON at `fields` of the variable `name` (`signals`, then `context`, `team_size`):
    /// `None` when the variable is not bound or a field is missing or not in an object.
    pub fn json<'f>(&self, name: &str, fields: impl IntoIterator<Item = &'f str>) -> Option<&'v Value> {
        let mut value = self.bindings.iter().find(|b| b.name == name)?.value;
        for field in fields {
            value = value.as_object()?.get(field)?;
        }
        Some(value)
    }
}

impl VariableResolver for JsonVariables<'_> {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let Some((root, path)) = name.split_once('.') else {
            let binding = self.bindings.iter().find(|b| b.name == name)?;
            return Some(CowVal::Borrowed(binding.converted.get_or_init(|| to_val(binding.value)).as_ref()));
        };
        match self.json(root, path.split('.'))? {
            Value::Object(_) | Value::Array(_) => None,
            scalar => Some(CowVal::Owned(to_val(scalar))),
        }
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

    /// `source` against `value` bound as `v`, once through [`JsonVariables`] and once bound the
    /// ordinary way; both must agree (value or error text) for the resolver to be only faster.
    fn through_the_resolver(source: &str, value: Value) -> Result<cel::Value, String> {
        let program = cel::Program::compile(source).unwrap();
        let mut bound = cel::Context::default();
        bound.add_variable_as_val("v", to_val(&value));
        let ordinary = program.execute(&bound).map_err(|e| e.to_string());
        let json = JsonVariables::new(&[("v", &value)]);
        let root = cel::Context::default();
        let mut resolved = root.new_inner_scope();
        resolved.set_variable_resolver(&json);
        let through = program.execute(&resolved).map_err(|e| e.to_string());
        assert_eq!(through, ordinary, "{source}");
        through
    }

    #[test]
    fn the_resolver_answers_paths_to_scalars_as_selecting_them_would() {
        let v = json!({"context": {"team_size": 12, "plan": "free", "on": true, "ratio": 0.5, "gone": null}});
        assert_eq!(through_the_resolver("v.context.team_size * 2 > 10", v.clone()), Ok(cel::Value::Bool(true)));
        assert_eq!(
            through_the_resolver("v.context.plan == 'free' && v.context.on", v.clone()),
            Ok(cel::Value::Bool(true))
        );
        assert_eq!(through_the_resolver("v.context.ratio", v.clone()), Ok(cel::Value::Float(0.5)));
        assert_eq!(through_the_resolver("v.context.gone == null", v), Ok(cel::Value::Bool(true)));
    }

    #[test]
    fn the_resolver_leaves_objects_lists_and_missing_fields_to_the_interpreter() {
        let v = json!({"context": {"tags": ["a", "b"], "nested": {"deep": 1}, "team_size": 3}});
        assert_eq!(through_the_resolver("size(v.context) == 3", v.clone()), Ok(cel::Value::Bool(true)));
        assert_eq!(through_the_resolver("'b' in v.context.tags", v.clone()), Ok(cel::Value::Bool(true)));
        assert_eq!(through_the_resolver("v.context.nested.deep == 1", v.clone()), Ok(cel::Value::Bool(true)));
        assert_eq!(through_the_resolver("has(v.context.seats)", v.clone()), Ok(cel::Value::Bool(false)));
        assert_eq!(through_the_resolver("has(v.context.team_size)", v.clone()), Ok(cel::Value::Bool(true)));
        assert!(through_the_resolver("v.context.seats > 1", v.clone()).is_err());
        // A field of a scalar is an error, as selecting it is.
        assert!(through_the_resolver("v.context.team_size.unit == 'people'", v.clone()).is_err());
        assert!(through_the_resolver("v.context.tags.first == 'a'", v).is_err());
    }

    #[test]
    fn the_resolver_does_not_split_keys_that_hold_a_dot() {
        let v = json!({"a.b": 1, "a": {"c": 2}});
        assert_eq!(through_the_resolver("v['a.b'] == 1 && v.a.c == 2", v.clone()), Ok(cel::Value::Bool(true)));
        assert!(through_the_resolver("v.a.b == 1", v).is_err());
    }

    #[test]
    fn names_bound_inside_a_condition_shadow_the_resolver() {
        let v = json!({"tags": ["x", "y"], "x": 5});
        assert_eq!(
            through_the_resolver("v.tags.exists(v, v == 'y') && v.x == 5", v.clone()),
            Ok(cel::Value::Bool(true))
        );
        assert!(through_the_resolver("w.x == 5", v).is_err());
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
