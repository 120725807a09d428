//! Evaluating flags exactly as the Unleash SDKs do (client specification v5/v6): strategies,
//! constraints with every operator, segments, stickiness by MurmurHash3 (`"groupId:id"`,
//! seed 0, normaliser 100), variants (seed 86028157 over the total weight) and overrides.
//! The frontend API answers with this, so browser SDKs see what backend SDKs compute.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::semver::Version;
use super::strategy::{Constraint, Operator, Strategy};
use super::variants::{Payload, Variant};
use crate::ssrf::Cidr;

/// The seed Unleash uses to pick variants.
pub const VARIANT_SEED: u32 = 86_028_157;

/// What an application says about the current request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub remote_address: Option<String>,
    pub environment: Option<String>,
    pub app_name: Option<String>,
    /// RFC 3339; `DATE_*` operators use the evaluation time when absent.
    pub current_time: Option<String>,
    pub properties: BTreeMap<String, String>,
}

impl Context {
    /// A context field by name, as constraints and stickiness read it.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "userId" => self.user_id.as_deref(),
            "sessionId" => self.session_id.as_deref(),
            "remoteAddress" => self.remote_address.as_deref(),
            "environment" => self.environment.as_deref(),
            "appName" => self.app_name.as_deref(),
            "currentTime" => self.current_time.as_deref(),
            other => self.properties.get(other).map(String::as_str),
        }
    }
}

/// A flag as evaluation needs it.
#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub enabled: bool,
    pub strategies: Vec<Strategy>,
    pub variants: Vec<Variant>,
    pub dependencies: Vec<Dependency>,
}

/// A parent flag this one depends on (Unleash's dependent features): the parent must be on
/// (or off, with `enabled: false`), and when `variants` is given, on with one of them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dependency {
    pub feature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<String>>,
}

/// What the evaluation needs from outside: segments by id, the time, the host name, and
/// randomness for the `random` stickiness and strategy.
pub struct Environment<'a> {
    pub segments: &'a BTreeMap<i64, Vec<Constraint>>,
    /// Other flags by name, for dependencies.
    pub features: &'a dyn Fn(&str) -> Option<&'a Feature>,
    /// Now, RFC 3339.
    pub now: time::OffsetDateTime,
    pub hostname: &'a str,
    pub random: &'a mut dyn FnMut() -> u32,
}

/// A chosen variant, borrowed from the flag it was chosen from (evaluation allocates nothing
/// per flag: the frontend API evaluates every flag on every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenVariant<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub payload: Option<&'a Payload>,
}

impl ChosenVariant<'_> {
    pub fn disabled() -> Self {
        Self { name: "disabled", enabled: false, payload: None }
    }
}

/// MurmurHash3, x86 32-bit.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let mut k: u32 = 0;
    for (i, byte) in tail.iter().enumerate() {
        k ^= u32::from(*byte) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Unleash's `normalizedValue`: 1..=normaliser for `groupId:id`.
pub fn normalized(id: &str, group_id: &str, normaliser: u32, seed: u32) -> u32 {
    if normaliser == 0 {
        return 0;
    }
    thread_local! {
        static KEY: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(128));
    }
    // `groupId:id` in a reused buffer: this runs for every flag of every frontend request.
    KEY.with_borrow_mut(|key| {
        key.clear();
        key.push_str(group_id);
        key.push(':');
        key.push_str(id);
        murmur3_32(key.as_bytes(), seed) % normaliser + 1
    })
}

fn percentage(strategy: &Strategy, name: &str) -> u32 {
    strategy
        .parameters
        .get(name)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |p| p.clamp(0.0, 100.0).round() as u32)
}

fn group_id<'a>(strategy: &'a Strategy, feature: &'a str) -> &'a str {
    strategy.parameters.get("groupId").map(String::as_str).filter(|g| !g.is_empty()).unwrap_or(feature)
}

fn list(value: Option<&String>) -> impl Iterator<Item = &str> {
    value.map(String::as_str).unwrap_or_default().split(',').map(str::trim).filter(|v| !v.is_empty())
}

/// The value stickiness reads; `None` when the context lacks it.
fn sticky_value<'c>(
    stickiness: &str,
    context: &'c Context,
    random: &mut dyn FnMut() -> u32,
) -> Option<std::borrow::Cow<'c, str>> {
    use std::borrow::Cow;
    match stickiness {
        "" | "default" => context
            .user_id
            .as_deref()
            .or(context.session_id.as_deref())
            .map(Cow::Borrowed)
            .or_else(|| Some(Cow::Owned(random().to_string()))),
        "random" => Some(Cow::Owned(random().to_string())),
        field => context.field(field).map(Cow::Borrowed),
    }
}

fn strategy_holds(strategy: &Strategy, feature: &str, context: &Context, env: &mut Environment<'_>) -> bool {
    let parameters = &strategy.parameters;
    match strategy.name.as_str() {
        "default" => true,
        "userWithId" => context.user_id.as_deref().is_some_and(|id| list(parameters.get("userIds")).any(|u| u == id)),
        "gradualRolloutUserId" => context.user_id.as_deref().is_some_and(|id| {
            percentage(strategy, "percentage") > 0
                && normalized(id, group_id(strategy, feature), 100, 0) <= percentage(strategy, "percentage")
        }),
        "gradualRolloutSessionId" => context.session_id.as_deref().is_some_and(|id| {
            percentage(strategy, "percentage") > 0
                && normalized(id, group_id(strategy, feature), 100, 0) <= percentage(strategy, "percentage")
        }),
        "gradualRolloutRandom" => {
            let p = percentage(strategy, "percentage");
            p > 0 && (env.random)() % 100 < p
        }
        "flexibleRollout" => {
            let rollout = percentage(strategy, "rollout");
            let stickiness = parameters.get("stickiness").map(String::as_str).unwrap_or("default");
            match sticky_value(stickiness, context, env.random) {
                Some(value) => rollout > 0 && normalized(&value, group_id(strategy, feature), 100, 0) <= rollout,
                None => false,
            }
        }
        "remoteAddress" => context.remote_address.as_deref().and_then(|a| a.parse::<IpAddr>().ok()).is_some_and(|ip| {
            list(parameters.get("IPs")).any(|range| range.parse::<Cidr>().is_ok_and(|cidr| cidr.contains(ip)))
        }),
        "applicationHostname" => {
            let host = env.hostname.to_lowercase();
            list(parameters.get("hostNames")).any(|h| h.to_lowercase() == host)
        }
        _ => false,
    }
}

fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// Whether one constraint holds. Unknown operators are false whatever `inverted` says.
pub fn constraint_holds(constraint: &Constraint, context: &Context, now: time::OffsetDateTime) -> bool {
    let Some(operator) = Operator::parse(&constraint.operator) else { return false };
    let field = if constraint.context_name == "currentTime" && context.current_time.is_none() {
        None
    } else {
        context.field(&constraint.context_name)
    };
    let field = match field {
        None if constraint.context_name == "currentTime"
            && matches!(operator, Operator::DateAfter | Operator::DateBefore) =>
        {
            Some(Field::Time(now))
        }
        None => None,
        Some(text) => Some(Field::Text(text)),
    };
    let value = constraint.value.as_deref().unwrap_or_default();
    let result = operator_holds(operator, field, &constraint.values, value, constraint.case_insensitive);
    if constraint.inverted { !result } else { result }
}

/// The value an operator looks at: text from a context or a payload, or a moment already
/// known (`currentTime` without a context value).
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Text(&'a str),
    Time(time::OffsetDateTime),
}

impl<'a> Field<'a> {
    fn text(self) -> Option<&'a str> {
        match self {
            Field::Text(text) => Some(text),
            Field::Time(_) => None,
        }
    }
}

/// Whether `operator` holds for `field` (absent: `None`) against `values` (list operators) or
/// `value` (the others), before `inverted`. The one implementation of Unleash's operators:
/// flag constraints and action-set filters both call it. Absent fields fail every operator
/// except `NOT_IN`, as Unleash evaluates constraints.
pub fn operator_holds(
    operator: Operator,
    field: Option<Field<'_>>,
    values: &[String],
    value: &str,
    case_insensitive: bool,
) -> bool {
    let value = value.trim();
    let text = field.and_then(Field::text);
    match operator {
        Operator::In => text.is_some_and(|f| values.iter().any(|v| v == f)),
        Operator::NotIn => !text.is_some_and(|f| values.iter().any(|v| v == f)),
        Operator::StrEndsWith | Operator::StrStartsWith | Operator::StrContains => text.is_some_and(|f| {
            let f = if case_insensitive { f.to_lowercase() } else { f.to_owned() };
            values.iter().any(|v| {
                let v = if case_insensitive { v.to_lowercase() } else { v.clone() };
                match operator {
                    Operator::StrEndsWith => f.ends_with(&v),
                    Operator::StrStartsWith => f.starts_with(&v),
                    _ => f.contains(&v),
                }
            })
        }),
        Operator::NumEq | Operator::NumGt | Operator::NumGte | Operator::NumLt | Operator::NumLte => {
            match (text.and_then(|f| f.trim().parse::<f64>().ok()), value.parse::<f64>().ok()) {
                (Some(a), Some(b)) => match operator {
                    Operator::NumEq => a == b,
                    Operator::NumGt => a > b,
                    Operator::NumGte => a >= b,
                    Operator::NumLt => a < b,
                    _ => a <= b,
                },
                _ => false,
            }
        }
        Operator::DateAfter | Operator::DateBefore => {
            let at = match field {
                Some(Field::Text(f)) => parse_time(f),
                Some(Field::Time(at)) => Some(at),
                None => None,
            };
            match (at, parse_time(value)) {
                (Some(a), Some(b)) if operator == Operator::DateAfter => a > b,
                (Some(a), Some(b)) => a < b,
                _ => false,
            }
        }
        Operator::SemverEq | Operator::SemverGt | Operator::SemverGte | Operator::SemverLt | Operator::SemverLte => {
            match (text.and_then(|f| Version::parse(f.trim())), Version::parse(value)) {
                (Some(a), Some(b)) => match operator {
                    Operator::SemverEq => a == b,
                    Operator::SemverGt => a > b,
                    Operator::SemverGte => a >= b,
                    Operator::SemverLt => a < b,
                    _ => a <= b,
                },
                _ => false,
            }
        }
        Operator::Regex => text.is_some_and(|f| {
            let pattern = if case_insensitive { format!("(?i){value}") } else { value.to_owned() };
            regex_lite::Regex::new(&pattern).is_ok_and(|re| re.is_match(f))
        }),
        Operator::InCidr => text.and_then(|f| f.trim().parse::<IpAddr>().ok()).is_some_and(|ip| {
            values.iter().any(|block| block.trim().parse::<Cidr>().is_ok_and(|cidr| cidr.contains(ip)))
        }),
    }
}

/// Whether a strategy's segments and constraints all hold (a missing segment never holds).
fn constraints_hold(strategy: &Strategy, context: &Context, env: &Environment<'_>) -> bool {
    let segments_hold = strategy.segments.iter().all(|id| {
        env.segments
            .get(id)
            .is_some_and(|constraints| constraints.iter().all(|c| constraint_holds(c, context, env.now)))
    });
    segments_hold && strategy.constraints.iter().all(|c| constraint_holds(c, context, env.now))
}

/// Picks a variant from `variants` for the context (overrides first), or `None` when the list
/// is empty or weighs nothing. Stickiness is the first variant's, else `fallback` (the
/// strategy's own for strategy variants, `default` for a flag's).
pub fn pick_variant<'a>(
    variants: &'a [Variant],
    group_id: &str,
    fallback: &str,
    context: &Context,
    random: &mut dyn FnMut() -> u32,
) -> Option<ChosenVariant<'a>> {
    let chosen = |v: &'a Variant| ChosenVariant { name: &v.name, enabled: true, payload: v.payload.as_ref() };
    for variant in variants {
        let overridden = variant
            .overrides
            .iter()
            .any(|o| context.field(&o.context_name).is_some_and(|value| o.values.iter().any(|v| v == value)));
        if overridden {
            return Some(chosen(variant));
        }
    }
    let total: u32 = variants.iter().map(|v| v.weight).sum();
    if total == 0 {
        return None;
    }
    let stickiness = variants.first().and_then(|v| v.stickiness.as_deref()).unwrap_or(fallback);
    let value = sticky_value(stickiness, context, random)?;
    let target = normalized(&value, group_id, total, VARIANT_SEED);
    let mut counter = 0;
    for variant in variants {
        if variant.weight == 0 {
            continue;
        }
        counter += variant.weight;
        if counter >= target {
            return Some(chosen(variant));
        }
    }
    None
}

/// The result of evaluating a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation<'a> {
    pub enabled: bool,
    pub variant: ChosenVariant<'a>,
}

/// Whether every parent is in the state a dependency asks for. As in the SDKs, a missing
/// parent, or a parent that has dependencies of its own, never satisfies.
fn parents_satisfied(feature: &Feature, context: &Context, env: &mut Environment<'_>) -> bool {
    feature.dependencies.iter().all(|dependency| {
        let Some(parent) = (env.features)(&dependency.feature) else { return false };
        if !parent.dependencies.is_empty() {
            return false;
        }
        let result = evaluate(parent, context, env);
        if dependency.enabled == Some(false) {
            return !result.enabled;
        }
        match &dependency.variants {
            Some(names) if !names.is_empty() => result.enabled && names.iter().any(|n| n == result.variant.name),
            _ => result.enabled,
        }
    })
}

/// Evaluates a flag for a context.
pub fn evaluate<'a>(feature: &'a Feature, context: &Context, env: &mut Environment<'_>) -> Evaluation<'a> {
    let off = Evaluation { enabled: false, variant: ChosenVariant::disabled() };
    if !feature.enabled || !parents_satisfied(feature, context, env) {
        return off;
    }
    let mut active = feature.strategies.iter().filter(|s| !s.disabled).peekable();
    let matched: Option<Option<&Strategy>> = if active.peek().is_none() {
        Some(None)
    } else {
        active.find(|s| constraints_hold(s, context, env) && strategy_holds(s, &feature.name, context, env)).map(Some)
    };
    let Some(strategy) = matched else { return off };
    let variant = match strategy.filter(|s| !s.variants.is_empty()) {
        Some(s) => {
            let fallback = s.parameters.get("stickiness").map(String::as_str).unwrap_or("default");
            pick_variant(&s.variants, group_id(s, &feature.name), fallback, context, env.random)
        }
        None => pick_variant(&feature.variants, &feature.name, "default", context, env.random),
    };
    Evaluation { enabled: true, variant: variant.unwrap_or_else(ChosenVariant::disabled) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_known_vectors() {
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(murmur3_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
        assert_eq!(murmur3_32(b"The quick brown fox jumps over the lazy dog", 0), 0x2e4f_f723);
    }

    #[test]
    fn normalized_values_match_the_unleash_node_sdk() {
        // From the Node SDK's own tests: normalizedValue('123', 'gr1') === 73, ('999', 'groupX') === 25.
        assert_eq!(normalized("123", "gr1", 100, 0), 73);
        assert_eq!(normalized("999", "groupX", 100, 0), 25);
    }

    fn strategy(json: &str) -> Strategy {
        serde_json::from_str(json).unwrap()
    }

    fn run<'a>(feature: &'a Feature, context: &Context) -> Evaluation<'a> {
        let segments = BTreeMap::new();
        let mut random = || 42;
        let none = |_: &str| None;
        let mut env = Environment {
            segments: &segments,
            features: &none,
            now: time::OffsetDateTime::now_utc(),
            hostname: "host",
            random: &mut random,
        };
        evaluate(feature, context, &mut env)
    }

    #[test]
    fn an_enabled_flag_without_strategies_is_on_and_unknown_strategies_are_off() {
        let mut feature =
            Feature { name: "f".into(), enabled: true, strategies: vec![], variants: vec![], dependencies: vec![] };
        assert!(run(&feature, &Context::default()).enabled);
        feature.strategies = vec![strategy(r#"{"name":"mystery"}"#)];
        assert!(!run(&feature, &Context::default()).enabled);
        feature.enabled = false;
        feature.strategies = vec![];
        assert!(!run(&feature, &Context::default()).enabled);
    }

    #[test]
    fn strategy_variants_without_stickiness_use_the_strategys() {
        let strategy = strategy(
            r#"{"name":"flexibleRollout","parameters":{"rollout":"100","stickiness":"clientId","groupId":"g"},
                "variants":[{"name":"a","weight":500},{"name":"b","weight":500}]}"#,
        );
        let feature = Feature {
            name: "f".into(),
            enabled: true,
            strategies: vec![strategy],
            variants: vec![],
            dependencies: vec![],
        };
        let mut context = Context::default();
        context.properties.insert("clientId".into(), "1".into());
        let segments = BTreeMap::new();
        let none = |_: &str| None;
        let mut counter = 0u32;
        let mut random = || {
            counter += 1;
            counter
        };
        let mut env = Environment {
            segments: &segments,
            features: &none,
            now: time::OffsetDateTime::now_utc(),
            hostname: "h",
            random: &mut random,
        };
        let first = evaluate(&feature, &context, &mut env).variant.name;
        for _ in 0..10 {
            assert_eq!(evaluate(&feature, &context, &mut env).variant.name, first, "sticky on clientId, not random");
        }
        let expected = if normalized("1", "g", 1000, VARIANT_SEED) <= 500 { "a" } else { "b" };
        assert_eq!(first, expected);
    }

    #[test]
    fn unknown_operators_are_false_even_inverted() {
        let unknown = Constraint {
            context_name: "userId".into(),
            operator: "LIKE".into(),
            values: vec![],
            value: None,
            inverted: true,
            case_insensitive: false,
        };
        assert!(!constraint_holds(&unknown, &Context::default(), time::OffsetDateTime::now_utc()));
    }

    #[test]
    fn not_in_holds_for_a_missing_field_and_in_does_not() {
        let c = |op: &str| Constraint {
            context_name: "userId".into(),
            operator: op.into(),
            values: vec!["1".into()],
            value: None,
            inverted: false,
            case_insensitive: false,
        };
        let now = time::OffsetDateTime::now_utc();
        assert!(constraint_holds(&c("NOT_IN"), &Context::default(), now));
        assert!(!constraint_holds(&c("IN"), &Context::default(), now));
    }
}
