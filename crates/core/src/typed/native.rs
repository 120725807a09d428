//! The commonest shapes of rule, evaluated without the CEL interpreter when that gives exactly
//! the interpreter's answer, and declined otherwise.
//!
//! Profile rules are mostly a field compared with a literal (`signals.context.team_size > 10`,
//! `signals.event_name == 'user_invited_teammate'`), a string method with a literal argument
//! (`identity.company_domain.endsWith('.io')`), `has()`, membership in a list of literals, and
//! those joined by `&&`, `||` and `!`. Through the interpreter each costs a few hundred
//! nanoseconds of name resolution and dispatch, and autoqualify runs every rule of every
//! profile on each signal (30 in bench/typed.sh).
//!
//! A [`NativeCondition`] is built from the parsed CEL (the `cel` crate's own AST, so the
//! grammar stays the crate's) and answers `Some(bool)` only when the values it reads have the
//! types its shortcut is exact for: an integer field against an integer literal, a string field
//! against a string literal, `has()` on an object. Anything else (a missing field, a number
//! with a fraction, a `null`, a shape it does not know) is `None`, and the caller evaluates the
//! whole condition with the interpreter, which then also gives the error text. `&&` and `||`
//! follow the interpreter's rules: `false && x` is `false` whatever `x` is, and so is
//! `x && false` (an error on the left is absorbed by `false` on the right), `true || x` and
//! `x || true` are `true`; the other combinations need both sides.

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};
use serde_json::Value;

use super::cel_json::JsonVariables;

/// A condition compiled to the shortcut, when its shape has one.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeCondition(Node);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Literal(bool),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// `path <op> integer`.
    CompareInt(Path, Comparison, i64),
    /// `path == 'text'` (or `!=`).
    EqualsText(Path, bool, String),
    /// `path.startsWith('…')`, `endsWith`, `contains`.
    TextMethod(Path, TextMethod, String),
    /// `path in ['a', 'b']`.
    InTexts(Path, Vec<String>),
    /// `has(path.field)`.
    Has(Path, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextMethod {
    StartsWith,
    EndsWith,
    Contains,
}

/// A variable and the fields selected on it: `signals.context.team_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    variable: String,
    fields: Vec<String>,
}

impl NativeCondition {
    /// The shortcut for `expression`, or `None` when any part of it has no shortcut.
    pub fn compile(expression: &IdedExpr) -> Option<Self> {
        node(expression).map(NativeCondition)
    }

    /// The interpreter's answer, when the values read allow the shortcut; `None` otherwise.
    pub fn evaluate(&self, variables: &JsonVariables) -> Option<bool> {
        self.0.evaluate(variables)
    }
}

fn node(expression: &IdedExpr) -> Option<Node> {
    match &expression.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => Some(Node::Literal(*b.inner())),
        Expr::Select(select) if select.test => Some(Node::Has(path(&select.operand)?, select.field.clone())),
        Expr::Call(call) => {
            let args = &call.args;
            match (call.func_name.as_str(), &call.target, args.len()) {
                (operators::LOGICAL_AND, None, 2) => {
                    Some(Node::And(Box::new(node(&args[0])?), Box::new(node(&args[1])?)))
                }
                (operators::LOGICAL_OR, None, 2) => {
                    Some(Node::Or(Box::new(node(&args[0])?), Box::new(node(&args[1])?)))
                }
                (operators::LOGICAL_NOT, None, 1) => Some(Node::Not(Box::new(node(&args[0])?))),
                (operators::IN, None, 2) => {
                    let Expr::List(list) = &args[1].expr else { return None };
                    if !list.optional_indices.is_empty() {
                        return None;
                    }
                    let texts = list.elements.iter().map(text_literal).collect::<Option<Vec<_>>>()?;
                    Some(Node::InTexts(path(&args[0])?, texts))
                }
                (name, None, 2) => {
                    let comparison = comparison(name)?;
                    let field = path(&args[0])?;
                    if let Some(n) = int_literal(&args[1]) {
                        return Some(Node::CompareInt(field, comparison, n));
                    }
                    let equal = match comparison {
                        Comparison::Equal => true,
                        Comparison::NotEqual => false,
                        _ => return None,
                    };
                    Some(Node::EqualsText(field, equal, text_literal(&args[1])?))
                }
                (name, Some(target), 1) => {
                    let method = match name {
                        "startsWith" => TextMethod::StartsWith,
                        "endsWith" => TextMethod::EndsWith,
                        "contains" => TextMethod::Contains,
                        _ => return None,
                    };
                    Some(Node::TextMethod(path(target)?, method, text_literal(&args[0])?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn comparison(operator: &str) -> Option<Comparison> {
    Some(match operator {
        operators::EQUALS => Comparison::Equal,
        operators::NOT_EQUALS => Comparison::NotEqual,
        operators::LESS => Comparison::Less,
        operators::LESS_EQUALS => Comparison::LessOrEqual,
        operators::GREATER => Comparison::Greater,
        operators::GREATER_EQUALS => Comparison::GreaterOrEqual,
        _ => return None,
    })
}

/// `a.b.c` as a variable and its fields; anything else (an index, a call) is not a path.
fn path(expression: &IdedExpr) -> Option<Path> {
    match &expression.expr {
        Expr::Ident(name) if !name.starts_with('.') => Some(Path { variable: name.clone(), fields: Vec::new() }),
        Expr::Select(select) if !select.test => {
            let mut path = path(&select.operand)?;
            path.fields.push(select.field.clone());
            Some(path)
        }
        _ => None,
    }
}

fn int_literal(expression: &IdedExpr) -> Option<i64> {
    match &expression.expr {
        Expr::Literal(LiteralValue::Int(n)) => Some(*n.inner()),
        _ => None,
    }
}

fn text_literal(expression: &IdedExpr) -> Option<String> {
    match &expression.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
        _ => None,
    }
}

impl Node {
    fn evaluate(&self, variables: &JsonVariables) -> Option<bool> {
        match self {
            Node::Literal(b) => Some(*b),
            Node::And(left, right) => match left.evaluate(variables) {
                Some(false) => Some(false),
                Some(true) => right.evaluate(variables),
                // The interpreter's `&&` gives `false` for an error or non-bool on the left
                // when the right is `false`; anything else needs the left's real value.
                None => right.evaluate(variables).filter(|r| !r),
            },
            Node::Or(left, right) => match left.evaluate(variables) {
                Some(true) => Some(true),
                Some(false) => right.evaluate(variables),
                None => right.evaluate(variables).filter(|r| *r),
            },
            Node::Not(inner) => inner.evaluate(variables).map(|b| !b),
            Node::CompareInt(path, comparison, literal) => {
                let value = path.read(variables)?.as_i64()?;
                Some(match comparison {
                    Comparison::Equal => value == *literal,
                    Comparison::NotEqual => value != *literal,
                    Comparison::Less => value < *literal,
                    Comparison::LessOrEqual => value <= *literal,
                    Comparison::Greater => value > *literal,
                    Comparison::GreaterOrEqual => value >= *literal,
                })
            }
            Node::EqualsText(path, equal, literal) => Some((path.read(variables)?.as_str()? == literal) == *equal),
            Node::TextMethod(path, method, argument) => {
                let text = path.read(variables)?.as_str()?;
                Some(match method {
                    TextMethod::StartsWith => text.starts_with(argument.as_str()),
                    TextMethod::EndsWith => text.ends_with(argument.as_str()),
                    TextMethod::Contains => text.contains(argument.as_str()),
                })
            }
            Node::InTexts(path, texts) => {
                let text = path.read(variables)?.as_str()?;
                Some(texts.iter().any(|t| t == text))
            }
            Node::Has(path, field) => Some(path.read(variables)?.as_object()?.contains_key(field)),
        }
    }
}

impl Path {
    fn read<'v>(&self, variables: &JsonVariables<'v>) -> Option<&'v Value> {
        variables.json(&self.variable, self.fields.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::typed::scoring::STANDARD;

    /// Conditions of every shape the shortcut knows, and some it does not.
    const CONDITIONS: &[&str] = &[
        "signals.context.team_size > 10",
        "signals.context.team_size >= 200",
        "signals.context.team_size <= 20",
        "signals.context.team_size < 50",
        "signals.context.team_size == 12",
        "signals.context.team_size != 12",
        "identity.company_domain.endsWith('.io')",
        "identity.company_domain.endsWith('.io') || identity.company_domain.endsWith('.ai')",
        "has(signals.context.plan_tier) && signals.context.plan_tier == 'free'",
        "has(signals.context.plan_tier) && signals.context.plan_tier in ['free', 'starter']",
        "signals.context.plan_tier != 'free'",
        "signals.event_name == 'user_invited_teammate'",
        "signals.event_name.startsWith('api_')",
        "has(identity.title) && (identity.title.contains('Founder') || identity.title.contains('CEO'))",
        "!has(identity.title) || identity.title.contains('VP')",
        "lead.capture_count >= 2",
        "signals.context.team_size > 10 && signals.context.plan_tier == 'free'",
        "signals.context.plan_tier == 'free' || signals.context.team_size > 10",
        "signals.context.team_size > 10 || true",
        "false && signals.context.team_size > 10",
        // No shortcut: the interpreter alone.
        "signals.context.team_size * 2 > 10",
        "size(signals.context) > 1",
        "signals.context.tags.exists(t, t == 'a')",
    ];

    /// Values of every type, and absent, for each field the conditions read.
    fn inputs() -> Vec<(Value, Value, Value)> {
        // The literals of the conditions themselves, either side of them, and the other types.
        let team_sizes = [
            json!(12),
            json!(250),
            json!(3),
            json!(10),
            json!(20),
            json!(50),
            json!(200),
            json!(11),
            json!(12.5),
            json!("12"),
            json!(null),
            json!(i64::MAX),
        ];
        let plans = [json!("free"), json!("starter"), json!("enterprise"), json!(7), json!(null)];
        let domains = [json!("acme.io"), json!("acme.ai"), json!("acme.com"), json!(null), json!(5)];
        let titles = [json!("Founder & CEO"), json!("VP Engineering"), json!(""), json!(null), json!(["VP"])];
        let events = [json!("user_invited_teammate"), json!("api_key_created"), json!(null), json!(1)];
        let mut inputs = Vec::new();
        for (i, team_size) in team_sizes.iter().enumerate() {
            for (j, plan) in plans.iter().enumerate() {
                let mut context = serde_json::Map::new();
                // Some absent: a missing field is not a null one.
                if i != 1 || j != 0 {
                    context.insert("team_size".into(), team_size.clone());
                }
                if j != 4 || i % 2 == 0 {
                    context.insert("plan_tier".into(), plan.clone());
                }
                let signals =
                    json!({"source": "bench", "event_name": events[(i + j) % events.len()], "context": context});
                let mut identity = json!({"company_domain": domains[(i + 2 * j) % domains.len()]});
                if (i + j) % 3 != 0 {
                    identity["title"] = titles[(i * 3 + j) % titles.len()].clone();
                }
                let capture_count = [json!(1), json!(2), json!(2.0), json!(null)][(i + j) % 4].clone();
                let lead = json!({ "capture_count": capture_count });
                inputs.push((signals, identity, lead));
            }
        }
        // A signal without context: every path through it is missing.
        inputs.push((json!({"source": "bench"}), json!({}), json!({})));
        inputs
    }

    #[test]
    fn the_shortcut_agrees_with_the_interpreter_whenever_it_answers() {
        let mut answered = 0;
        for source in CONDITIONS {
            let program = cel::Program::compile(source).unwrap();
            let Some(native) = NativeCondition::compile(program.expression()) else { continue };
            for (signals, identity, lead) in inputs() {
                let variables = JsonVariables::new(&[("signals", &signals), ("identity", &identity), ("lead", &lead)]);
                let Some(shortcut) = native.evaluate(&variables) else { continue };
                answered += 1;
                let mut context = STANDARD.new_inner_scope();
                context.set_variable_resolver(&variables);
                let interpreted = program.execute(&context);
                assert_eq!(
                    interpreted.as_ref().ok(),
                    Some(&cel::Value::Bool(shortcut)),
                    "{source} with signals {signals}, identity {identity}, lead {lead}: the interpreter says {interpreted:?}"
                );
            }
        }
        assert!(answered > 400, "the shortcut answered only {answered} times");
    }

    #[test]
    fn the_shortcut_declines_values_it_is_not_exact_for() {
        let program = cel::Program::compile("signals.context.team_size > 10").unwrap();
        let native = NativeCondition::compile(program.expression()).unwrap();
        for team_size in [json!(12.5), json!("12"), json!(null), json!(u64::MAX)] {
            let signals = json!({"context": {"team_size": team_size}});
            let variables = JsonVariables::new(&[("signals", &signals)]);
            assert_eq!(native.evaluate(&variables), None, "{team_size}");
        }
        let signals = json!({"context": {}});
        assert_eq!(native.evaluate(&JsonVariables::new(&[("signals", &signals)])), None);
        assert_eq!(native.evaluate(&JsonVariables::new(&[])), None, "an unbound variable is the interpreter's error");
    }

    #[test]
    fn every_shape_of_the_benchmark_profiles_has_a_shortcut_and_others_do_not() {
        for source in &CONDITIONS[..20] {
            let program = cel::Program::compile(source).unwrap();
            assert!(NativeCondition::compile(program.expression()).is_some(), "{source}");
        }
        for source in &CONDITIONS[20..] {
            let program = cel::Program::compile(source).unwrap();
            assert!(NativeCondition::compile(program.expression()).is_none(), "{source}");
        }
    }
}
