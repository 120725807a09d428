//! Qualification scoring: how well a captured signal fits an ICP or persona profile.
//!
//! A profile is a code (`Mid-market SaaS`) and weighted rules, each a CEL condition over
//! three variables: `signals` (the signal: `signal_type`, `source`, `event_name`,
//! `occurred_at`, `context`, `sub_rule`), `identity` and `lead`, all JSON objects (see
//! [`super::cel_json`]). Conditions are compiled when a profile is saved or loaded, so a
//! mistake is reported with its rule and position then, not discovered on every signal.
//!
//! The score is the weighted share of rules that hold, 0–100. Evaluation is total: a rule
//! holds only if it evaluates to exactly `true`. Anything else — `false`, another type, or a
//! runtime error such as a missing field — does not hold, so one rule that does not apply to
//! a signal cannot fail the whole qualification. Errors and non-boolean results are still
//! returned alongside the score, because they usually mean a rule is written wrong and the
//! caller should log them.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::cel_json::JsonVariables;
use super::native::NativeCondition;

/// Longest condition accepted, in characters.
pub const MAX_CONDITION_LENGTH: usize = 2000;
/// The weights a rule may carry.
pub const WEIGHTS: std::ops::RangeInclusive<u32> = 1..=100;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Rule {
    pub condition: String,
    pub weight: u32,
}

/// A profile as configured: not yet compiled.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    pub code: String,
    pub rules: Vec<Rule>,
}

/// Why a condition does not compile, and where. Lines and columns count from 1; problems with
/// the condition as a whole (empty, too long) are placed at line 1, column 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ConditionError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a profile does not compile. Rule indexes count from 0, as in the `rules` array.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("must have at least one rule")]
    NoRules,
    #[error("rule {rule}: weight must be between 1 and 100, not {weight}")]
    Weight { rule: usize, weight: u32 },
    #[error("rule {rule}: condition is not valid CEL at {error}")]
    Condition { rule: usize, error: ConditionError },
}

/// A compiled condition: the CEL program, and its shortcut when its shape has one (see
/// [`super::native`]).
pub struct Condition {
    program: cel::Program,
    native: Option<NativeCondition>,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("native", &self.native).finish_non_exhaustive()
    }
}

/// Compiles one condition (a profile rule's, or a custom signal type's sub-rule). When CEL
/// reports several parse errors the first is returned: the later ones are often knock-on
/// effects of it.
pub fn compile_condition(source: &str) -> Result<Condition, ConditionError> {
    let whole = |message: String| ConditionError { line: 1, column: 1, message };
    if source.trim().is_empty() {
        return Err(whole("must not be empty".into()));
    }
    if source.chars().count() > MAX_CONDITION_LENGTH {
        return Err(whole(format!("must be at most {MAX_CONDITION_LENGTH} characters")));
    }
    let program = cel::Program::compile(source).map_err(|errors| match errors.errors.first() {
        Some(first) => ConditionError {
            line: usize::try_from(first.pos.0).unwrap_or(0).max(1),
            column: usize::try_from(first.pos.1).unwrap_or(0).max(1),
            message: first.msg.clone(),
        },
        None => whole(errors.to_string()),
    })?;
    let native = NativeCondition::compile(program.expression());
    Ok(Condition { program, native })
}

/// A profile ready to score.
pub struct CompiledProfile {
    code: String,
    rules: Vec<CompiledRule>,
}

struct CompiledRule {
    condition: Condition,
    weight: u32,
    /// Whether the condition reads `lead`: only these wait for the lead to be resolved (see
    /// [`CompiledProfile::score_before_lead`]).
    reads_lead: bool,
    /// Which of [`VARIABLES`] the condition reads.
    reads: [bool; 3],
}

impl fmt::Debug for CompiledProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledProfile").field("code", &self.code).field("rules", &self.rules.len()).finish()
    }
}

/// Compiles every rule of `profile`, reporting every problem rather than the first.
pub fn compile_profile(profile: &Profile) -> Result<CompiledProfile, Vec<ProfileError>> {
    let mut problems = Vec::new();
    if profile.rules.is_empty() {
        problems.push(ProfileError::NoRules);
    }
    let mut rules = Vec::with_capacity(profile.rules.len());
    for (index, rule) in profile.rules.iter().enumerate() {
        if !WEIGHTS.contains(&rule.weight) {
            problems.push(ProfileError::Weight { rule: index, weight: rule.weight });
        }
        match compile_condition(&rule.condition) {
            Ok(condition) => {
                let references = condition.program.references();
                let reads = VARIABLES.map(|name| references.has_variable(name));
                rules.push(CompiledRule { condition, weight: rule.weight, reads_lead: reads[2], reads });
            }
            Err(error) => problems.push(ProfileError::Condition { rule: index, error }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CompiledProfile { code: profile.code.clone(), rules })
}

/// What conditions see, built once per signal and shared by every profile and sub-rule. It
/// borrows the JSON it was built from, and converts what a rule reads when it reads it (see
/// [`JsonVariables`]).
pub struct Variables<'v> {
    json: JsonVariables<'v>,
}

/// The standard functions and macros, built once: building them (`Context::default`) costs
/// more than evaluating a profile's rules, so each signal's variables live in a child scope
/// of this root instead.
pub static STANDARD: std::sync::LazyLock<cel::Context<'static, 'static>> =
    std::sync::LazyLock::new(cel::Context::default);

/// The variables rules read.
pub const VARIABLES: [&str; 3] = ["signals", "identity", "lead"];

impl<'v> Variables<'v> {
    pub fn new(signals: &'v Value, identity: &'v Value, lead: &'v Value) -> Self {
        Self::with(&[("signals", signals), ("identity", identity), ("lead", lead)])
    }

    /// Only these variables: a condition that reads another one fails (and so does not hold).
    pub fn with(bindings: &[(&'v str, &'v Value)]) -> Self {
        Self { json: JsonVariables::new(bindings) }
    }
}

/// Whether `program` holds: `Ok(true)` only for exactly `true`, `Ok(false)` for `false`, and
/// an error text for a runtime error or a result that is not a boolean.
pub fn evaluate(condition: &Condition, variables: &Variables) -> Result<bool, String> {
    if let Some(holds) = condition.native.as_ref().and_then(|native| native.evaluate(&variables.json)) {
        return Ok(holds);
    }
    // A scope of its own costs nothing (no allocation): the variables live in the resolver.
    let mut context = STANDARD.new_inner_scope();
    context.set_variable_resolver(&variables.json);
    match condition.program.execute(&context) {
        Ok(cel::Value::Bool(holds)) => Ok(holds),
        Ok(other) => Err(format!("evaluated to a {}, not a bool", other.type_of())),
        Err(error) => Err(error.to_string()),
    }
}

/// A profile's score for one signal, and the rules that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub code: String,
    /// 0–100.
    pub score: u8,
    /// `(rule index, error text)` for each rule that errored or did not give a bool.
    pub errors: Vec<(usize, String)>,
}

impl CompiledProfile {
    pub fn code(&self) -> &str {
        &self.code
    }

    /// `round(100 × Σ weights of rules that hold / Σ weights)`, rounding halves away from
    /// zero (12.5 is 13): the conventional rounding people check a score against by hand.
    /// Integer arithmetic, so no float ever decides a boundary.
    pub fn score(&self, variables: &Variables) -> Score {
        self.score_with_lead(&self.score_before_lead(variables), Some(variables))
    }

    /// Evaluates the rules that do not read `lead`. Typed ingest runs this in each request's
    /// handler, in parallel, and leaves only the rules about the lead to its single writer,
    /// which knows the lead once the capture is resolved.
    pub fn score_before_lead(&self, variables: &Variables) -> PartialScore {
        self.evaluate_rules(variables, false)
    }

    /// Whether any rule reads `lead` (else [`Self::score_with_lead`] evaluates nothing).
    pub fn reads_lead(&self) -> bool {
        self.rules.iter().any(|r| r.reads_lead)
    }

    /// Which of [`VARIABLES`] the rules that read `lead` read: the only ones
    /// [`Self::score_with_lead`] needs bound.
    pub fn lead_rules_read(&self) -> [bool; 3] {
        let mut reads = [false; 3];
        for rule in self.rules.iter().filter(|r| r.reads_lead) {
            for (read, rule_reads) in reads.iter_mut().zip(rule.reads) {
                *read |= rule_reads;
            }
        }
        reads
    }

    /// The score: `before` (from [`Self::score_before_lead`] of this profile) and the rules
    /// that read `lead`, evaluated with `variables` (which hold the lead). `None` when no rule
    /// reads the lead (see [`Self::reads_lead`]): there is nothing left to evaluate.
    pub fn score_with_lead(&self, before: &PartialScore, variables: Option<&Variables>) -> Score {
        let about_lead = match variables {
            Some(variables) if self.reads_lead() => self.evaluate_rules(variables, true),
            _ => PartialScore::default(),
        };
        let total: u64 = self.rules.iter().map(|r| u64::from(r.weight)).sum();
        let mut errors: Vec<(usize, String)> = before.errors.iter().chain(&about_lead.errors).cloned().collect();
        errors.sort_by_key(|(index, _)| *index);
        Score { code: self.code.clone(), score: percentage(before.held + about_lead.held, total), errors }
    }

    fn evaluate_rules(&self, variables: &Variables, reading_lead: bool) -> PartialScore {
        let mut partial = PartialScore::default();
        for (index, rule) in self.rules.iter().enumerate().filter(|(_, r)| r.reads_lead == reading_lead) {
            match evaluate(&rule.condition, variables) {
                Ok(true) => partial.held += u64::from(rule.weight),
                Ok(false) => {}
                Err(error) => partial.errors.push((index, error)),
            }
        }
        partial
    }
}

/// Some of a profile's rules evaluated: the weight of those that held, and the errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialScore {
    held: u64,
    errors: Vec<(usize, String)>,
}

/// `round(100 × part / whole)`, halves away from zero; 0 for an empty whole.
fn percentage(part: u64, whole: u64) -> u8 {
    if whole == 0 {
        return 0;
    }
    let rounded = (200 * part + whole) / (2 * whole);
    u8::try_from(rounded.min(100)).unwrap_or(100)
}

/// The best of several profiles' scores: the highest score, ties going to the code that sorts
/// first (byte-wise, so case-sensitive: `B` before `a`). `None` when there are no scores.
pub fn best<'a>(scores: impl IntoIterator<Item = &'a Score>) -> Option<(&'a str, u8)> {
    scores
        .into_iter()
        .map(|s| (s.code.as_str(), s.score))
        .min_by(|(a_code, a_score), (b_code, b_score)| b_score.cmp(a_score).then_with(|| a_code.cmp(b_code)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(condition: &str, weight: u32) -> Rule {
        Rule { condition: condition.into(), weight }
    }

    fn profile(code: &str, rules: Vec<Rule>) -> CompiledProfile {
        compile_profile(&Profile { code: code.into(), rules }).unwrap()
    }

    static SIGNAL: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        json!({
            "signal_type": "custom_event",
            "source": "segment",
            "event_name": "user_invited_teammate",
            "occurred_at": "2026-05-26T14:30:00Z",
            "context": {"team_size": 12, "plan_tier": "free"},
            "sub_rule": null,
        })
    });
    static IDENTITY: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(
        || json!({"email": "ada@example.com", "company_domain": "example.com", "title": "VP Engineering"}),
    );
    static LEAD: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(|| json!({"employees": 250, "industry": "saas"}));

    fn variables() -> Variables<'static> {
        variables_with_lead(&LEAD)
    }

    fn variables_with_lead(lead: &serde_json::Value) -> Variables<'_> {
        Variables::new(&SIGNAL, &IDENTITY, lead)
    }

    #[test]
    fn rules_about_the_lead_can_be_left_until_the_lead_is_known() {
        let p = profile(
            "p",
            vec![
                rule("lead.employees >= 100", 50),
                rule("signals.context.team_size > 10", 30),
                rule("identity.title.contains('CEO') || lead.industry == 'saas'", 15),
                rule("identity.missing_field == 1", 5),
            ],
        );
        assert!(p.reads_lead());
        // Before the lead is resolved its variable is empty; only the other rules are read.
        let before = p.score_before_lead(&variables_with_lead(&json!({})));
        let whole = p.score(&variables());
        assert_eq!(p.score_with_lead(&before, Some(&variables())), whole);
        assert_eq!(whole.score, 95);
        assert_eq!(whole.errors.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [3]);

        let no_lead = profile("q", vec![rule("signals.source == 'segment'", 1)]);
        assert!(!no_lead.reads_lead());
        let before = no_lead.score_before_lead(&variables());
        assert_eq!(no_lead.score_with_lead(&before, None).score, 100);
    }

    fn score_of(rules: Vec<Rule>) -> u8 {
        profile("p", rules).score(&variables()).score
    }

    #[test]
    fn the_score_is_the_weighted_share_of_rules_that_hold() {
        let p = profile(
            "Mid-market SaaS",
            vec![
                rule("lead.employees >= 100 && lead.employees < 1000", 50),
                rule("lead.industry == 'saas'", 30),
                rule("signals.context.team_size > 50", 20),
            ],
        );
        let score = p.score(&variables());
        assert_eq!(score, Score { code: "Mid-market SaaS".into(), score: 80, errors: vec![] });
    }

    #[test]
    fn all_and_none_are_one_hundred_and_zero() {
        assert_eq!(score_of(vec![rule("true", 1), rule("1 < 2", 100)]), 100);
        assert_eq!(score_of(vec![rule("false", 1), rule("1 > 2", 100)]), 0);
    }

    #[test]
    fn halves_round_away_from_zero() {
        // 1 of 8 is 12.5, 3 of 8 is 37.5; 1 of 3 is 33.3 and 2 of 3 is 66.7.
        assert_eq!(score_of(vec![rule("true", 1), rule("false", 7)]), 13);
        assert_eq!(score_of(vec![rule("true", 3), rule("false", 5)]), 38);
        assert_eq!(score_of(vec![rule("true", 1), rule("false", 2)]), 33);
        assert_eq!(score_of(vec![rule("true", 2), rule("false", 1)]), 67);
        assert_eq!(percentage(1, 200), 1);
        assert_eq!(percentage(0, 0), 0);
    }

    #[test]
    fn every_variable_is_visible_to_rules() {
        assert_eq!(
            score_of(vec![
                rule("signals.signal_type == 'custom_event' && signals.source == 'segment'", 1),
                rule("signals.event_name.startsWith('user_')", 1),
                rule("signals.context.team_size * 2 > 10 && signals.context.plan_tier == 'free'", 1),
                rule("signals.sub_rule == null", 1),
                rule("identity.email.endsWith('@example.com') && identity.title.contains('VP')", 1),
                rule("lead.employees > 100", 1),
            ]),
            100
        );
    }

    #[test]
    fn a_rule_that_errors_does_not_hold_and_is_reported() {
        let p = profile(
            "p",
            vec![
                rule("true", 1),
                rule("lead.missing == 1", 1),
                rule("identity.email > 3", 1),
                rule("lead.employees", 1),
            ],
        );
        let score = p.score(&variables());
        assert_eq!(score.score, 25);
        let indexes: Vec<usize> = score.errors.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [1, 2, 3]);
        assert!(score.errors[0].1.contains("missing"), "{:?}", score.errors[0]);
        assert!(score.errors[2].1.contains("not a bool"), "{:?}", score.errors[2]);
    }

    #[test]
    fn a_guarded_rule_does_not_error() {
        let p = profile("p", vec![rule("has(lead.missing) && lead.missing == 1", 1)]);
        assert_eq!(p.score(&variables()), Score { code: "p".into(), score: 0, errors: vec![] });
    }

    #[test]
    fn a_bad_condition_is_reported_with_its_rule_line_and_column() {
        let errors = compile_profile(&Profile {
            code: "p".into(),
            rules: vec![rule("true", 1), rule("lead.a ==\n  && true", 1)],
        })
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        let ProfileError::Condition { rule, error } = &errors[0] else { panic!("{errors:?}") };
        assert_eq!(*rule, 1);
        assert_eq!((error.line, error.column), (2, 3), "{error:?}");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn every_problem_of_a_profile_is_reported() {
        let errors = compile_profile(&Profile {
            code: "p".into(),
            rules: vec![rule("true", 0), rule("(", 101), rule("  ", 100)],
        })
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!(errors[0], ProfileError::Weight { rule: 0, weight: 0 });
        assert_eq!(errors[1], ProfileError::Weight { rule: 1, weight: 101 });
        assert!(matches!(errors[2], ProfileError::Condition { rule: 1, .. }));
        assert!(
            matches!(&errors[3], ProfileError::Condition { rule: 2, error } if error.message == "must not be empty")
        );
    }

    #[test]
    fn a_profile_needs_a_rule() {
        let errors = compile_profile(&Profile { code: "p".into(), rules: vec![] }).unwrap_err();
        assert_eq!(errors, [ProfileError::NoRules]);
    }

    #[test]
    fn weights_one_and_one_hundred_are_allowed() {
        assert!(
            compile_profile(&Profile { code: "p".into(), rules: vec![rule("true", 1), rule("true", 100)] }).is_ok()
        );
    }

    #[test]
    fn conditions_have_a_length_limit() {
        let long = format!("true{}", " ".repeat(MAX_CONDITION_LENGTH));
        assert!(compile_condition(&long).unwrap_err().message.contains("at most"));
        assert!(compile_condition(&format!("true{}", " ".repeat(MAX_CONDITION_LENGTH - 4))).is_ok());
    }

    #[test]
    fn a_sub_rule_compiles_and_evaluates_like_a_profile_rule() {
        let sub_rule = compile_condition("signals.context.plan_tier == 'free'").unwrap();
        assert_eq!(evaluate(&sub_rule, &variables()), Ok(true));
        let error = compile_condition("signals.context.plan_tier = 'free'").unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.column > 1, "{error:?}");
    }

    #[test]
    fn the_highest_score_wins_and_ties_go_to_the_first_code() {
        let s = |code: &str, score: u8| Score { code: code.into(), score, errors: vec![] };
        let scores = [s("Startup", 40), s("Mid-market SaaS", 73), s("Enterprise", 73), s("SMB", 10)];
        assert_eq!(best(&scores), Some(("Enterprise", 73)));
        assert_eq!(best(&scores[..1]), Some(("Startup", 40)));
        assert_eq!(best(&[s("b", 0), s("a", 0)]), Some(("a", 0)));
        assert_eq!(best(&[] as &[Score]), None);
    }
}
