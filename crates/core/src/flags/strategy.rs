//! Activation strategies in Unleash's model: a name with string parameters, constraints on
//! the context, segments, and strategy variants. Known strategies get their parameters
//! checked; any other name is a custom strategy and passes its parameters through.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Problem;
use super::semver::Version;
use super::variants::{self, Variant};
use crate::ssrf::Cidr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// Assigned by the server when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    /// Position among the environment's strategies (the list order is kept as given).
    #[serde(default)]
    pub sort_order: i64,
    /// Every value is a string, as in Unleash.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// Segment ids.
    #[serde(default)]
    pub segments: Vec<i64>,
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    pub context_name: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default)]
    pub inverted: bool,
    #[serde(default)]
    pub case_insensitive: bool,
}

/// Unleash's constraint operators, including the newer `REGEX`, `IN_CIDR`, `SEMVER_GTE`,
/// `SEMVER_LTE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    StrEndsWith,
    StrStartsWith,
    StrContains,
    NumEq,
    NumGt,
    NumGte,
    NumLt,
    NumLte,
    DateAfter,
    DateBefore,
    SemverEq,
    SemverGt,
    SemverGte,
    SemverLt,
    SemverLte,
    Regex,
    InCidr,
}

/// What an operator compares with.
enum Operand {
    /// `values`: a list of strings.
    List,
    /// `values`: CIDR blocks.
    Cidrs,
    Number,
    Date,
    Semver,
    Regex,
}

impl Operator {
    pub const ALL: &[(&str, Operator)] = &[
        ("IN", Operator::In),
        ("NOT_IN", Operator::NotIn),
        ("STR_ENDS_WITH", Operator::StrEndsWith),
        ("STR_STARTS_WITH", Operator::StrStartsWith),
        ("STR_CONTAINS", Operator::StrContains),
        ("NUM_EQ", Operator::NumEq),
        ("NUM_GT", Operator::NumGt),
        ("NUM_GTE", Operator::NumGte),
        ("NUM_LT", Operator::NumLt),
        ("NUM_LTE", Operator::NumLte),
        ("DATE_AFTER", Operator::DateAfter),
        ("DATE_BEFORE", Operator::DateBefore),
        ("SEMVER_EQ", Operator::SemverEq),
        ("SEMVER_GT", Operator::SemverGt),
        ("SEMVER_GTE", Operator::SemverGte),
        ("SEMVER_LT", Operator::SemverLt),
        ("SEMVER_LTE", Operator::SemverLte),
        ("REGEX", Operator::Regex),
        ("IN_CIDR", Operator::InCidr),
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(name, _)| *name == text).map(|(_, op)| *op)
    }

    fn operand(self) -> Operand {
        match self {
            Self::In | Self::NotIn | Self::StrEndsWith | Self::StrStartsWith | Self::StrContains => Operand::List,
            Self::InCidr => Operand::Cidrs,
            Self::NumEq | Self::NumGt | Self::NumGte | Self::NumLt | Self::NumLte => Operand::Number,
            Self::DateAfter | Self::DateBefore => Operand::Date,
            Self::SemverEq | Self::SemverGt | Self::SemverGte | Self::SemverLt | Self::SemverLte => Operand::Semver,
            Self::Regex => Operand::Regex,
        }
    }
}

pub type StrategyProblem = Problem;

/// A strategy the evaluator knows (`eval::strategy_holds`), with the parameters it reads.
/// Any other name is a custom strategy: stored and served, false when evaluated here.
#[derive(Debug, Clone, Copy)]
pub struct BuiltIn {
    pub name: &'static str,
    pub description: &'static str,
    /// Parameter name and what it holds.
    pub parameters: &'static [(&'static str, &'static str)],
}

/// The built-in strategies, as Unleash names them.
pub const BUILT_IN: &[BuiltIn] = &[
    BuiltIn { name: "default", description: "On for everyone (who passes the constraints)", parameters: &[] },
    BuiltIn {
        name: "flexibleRollout",
        description: "Gradual rollout by a sticky context field",
        parameters: &[
            ("rollout", "Rollout percentage, 0-100"),
            ("stickiness", "Context field to stick on: default, userId, sessionId, random, …"),
            ("groupId", "Group id (default: the flag's key)"),
        ],
    },
    BuiltIn {
        name: "userWithId",
        description: "On for the listed user ids",
        parameters: &[("userIds", "User ids, comma-separated")],
    },
    BuiltIn {
        name: "gradualRolloutUserId",
        description: "Gradual rollout by user id (legacy)",
        parameters: &[("percentage", "Percentage, 0-100"), ("groupId", "Group id")],
    },
    BuiltIn {
        name: "gradualRolloutSessionId",
        description: "Gradual rollout by session id (legacy)",
        parameters: &[("percentage", "Percentage, 0-100"), ("groupId", "Group id")],
    },
    BuiltIn {
        name: "gradualRolloutRandom",
        description: "Random share of evaluations (legacy)",
        parameters: &[("percentage", "Percentage, 0-100")],
    },
    BuiltIn {
        name: "remoteAddress",
        description: "On for the listed IP addresses or CIDR blocks",
        parameters: &[("IPs", "IP addresses or CIDR blocks, comma-separated")],
    },
    BuiltIn {
        name: "applicationHostname",
        description: "On for the listed host names",
        parameters: &[("hostNames", "Host names, comma-separated")],
    },
];

/// The built-in strategy called `name`, if it is one.
pub fn built_in(name: &str) -> Option<&'static BuiltIn> {
    BUILT_IN.iter().find(|b| b.name == name)
}

/// Percent parameters of the built-in strategies.
const PERCENT_PARAMETERS: &[(&str, &str)] = &[
    ("flexibleRollout", "rollout"),
    ("gradualRolloutUserId", "percentage"),
    ("gradualRolloutSessionId", "percentage"),
    ("gradualRolloutRandom", "percentage"),
];

/// Checks strategies (at `path`, e.g. `strategies`), fills in variant weights and missing ids
/// with `new_id`, and numbers `sortOrder` by position.
pub fn normalise(
    strategies: &mut [Strategy],
    path: &str,
    mut new_id: impl FnMut() -> String,
) -> Result<(), StrategyProblem> {
    for (i, strategy) in strategies.iter_mut().enumerate() {
        let at = format!("{path}[{i}]");
        let name = strategy.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Problem::new(format!("{at}.name"), "must be 1-100 characters"));
        }
        for (strategy_name, parameter) in PERCENT_PARAMETERS {
            if name == *strategy_name
                && let Some(value) = strategy.parameters.get(*parameter)
                && !value.trim().parse::<u32>().is_ok_and(|n| n <= 100)
            {
                return Err(Problem::new(
                    format!("{at}.parameters.{parameter}"),
                    "must be a whole number from 0 to 100 (as a string)",
                ));
            }
        }
        if name == "remoteAddress"
            && let Some(ips) = strategy.parameters.get("IPs")
        {
            for ip in ips.split(',').map(str::trim).filter(|ip| !ip.is_empty()) {
                if ip.parse::<Cidr>().is_err() {
                    return Err(Problem::new(
                        format!("{at}.parameters.IPs"),
                        format!("{ip:?} is not an IP address or CIDR block"),
                    ));
                }
            }
        }
        for (j, constraint) in strategy.constraints.iter().enumerate() {
            check_constraint(constraint, &format!("{at}.constraints[{j}]"))?;
        }
        variants::normalise(&mut strategy.variants, &format!("{at}.variants"))?;
        strategy.sort_order = i as i64;
        if strategy.id.as_deref().is_none_or(str::is_empty) {
            strategy.id = Some(new_id());
        }
    }
    Ok(())
}

/// Checks one constraint (at `at`).
pub fn check_constraint(constraint: &Constraint, at: &str) -> Result<(), Problem> {
    if constraint.context_name.trim().is_empty() {
        return Err(Problem::new(format!("{at}.contextName"), "must not be empty"));
    }
    let Some(operator) = Operator::parse(&constraint.operator) else {
        let known: Vec<&str> = Operator::ALL.iter().map(|(name, _)| *name).collect();
        return Err(Problem::new(format!("{at}.operator"), format!("must be one of {}", known.join(", "))));
    };
    let value = || constraint.value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let need_value = || Problem::new(format!("{at}.value"), "is required for this operator");
    match operator.operand() {
        Operand::List => Ok(()),
        Operand::Cidrs => {
            for (k, block) in constraint.values.iter().enumerate() {
                if block.trim().parse::<Cidr>().is_err() {
                    return Err(Problem::new(format!("{at}.values[{k}]"), "must be an IP address or CIDR block"));
                }
            }
            Ok(())
        }
        Operand::Number => match value() {
            Some(v) if v.parse::<f64>().is_ok_and(f64::is_finite) => Ok(()),
            Some(_) => Err(Problem::new(format!("{at}.value"), "must be a number")),
            None => Err(need_value()),
        },
        Operand::Date => match value() {
            Some(v) if time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).is_ok() => Ok(()),
            Some(_) => {
                Err(Problem::new(format!("{at}.value"), "must be an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z"))
            }
            None => Err(need_value()),
        },
        Operand::Semver => match value() {
            Some(v) if Version::parse(v).is_some() => Ok(()),
            Some(_) => {
                Err(Problem::new(format!("{at}.value"), "must be a semantic version such as 1.2.3 or 2.0.0-rc.1"))
            }
            None => Err(need_value()),
        },
        Operand::Regex => match value() {
            Some(v) if regex_lite::Regex::new(v).is_ok() => Ok(()),
            Some(_) => Err(Problem::new(format!("{at}.value"), "must be a valid regular expression")),
            None => Err(need_value()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Vec<Strategy> {
        serde_json::from_str(json).unwrap()
    }

    fn problem(json: &str) -> Problem {
        let mut list = parse(json);
        normalise(&mut list, "strategies", || "id".into()).unwrap_err()
    }

    #[test]
    fn a_flexible_rollout_with_constraints_and_variants_passes_and_gets_ids_and_weights() {
        let mut list = parse(
            r#"[{"name":"default"},{"name":"flexibleRollout","parameters":{"rollout":"50","stickiness":"userId","groupId":"f"},
                "constraints":[{"contextName":"appVersion","operator":"SEMVER_GTE","value":"2.1.0"},
                               {"contextName":"email","operator":"REGEX","value":"@example\\.com$","caseInsensitive":true},
                               {"contextName":"remoteAddress","operator":"IN_CIDR","values":["10.0.0.0/8"]},
                               {"contextName":"userId","operator":"NOT_IN","values":["1","2"],"inverted":true}],
                "variants":[{"name":"blue"},{"name":"green"}]},
               {"name":"myCustomStrategy","parameters":{"anything":"goes"}}]"#,
        );
        let mut n = 0;
        normalise(&mut list, "strategies", || {
            n += 1;
            format!("s{n}")
        })
        .unwrap();
        assert_eq!(list[1].sort_order, 1);
        assert_eq!(list[1].id.as_deref(), Some("s2"));
        assert_eq!(list[1].variants[0].weight + list[1].variants[1].weight, 1000);
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let cases = [
            (r#"[{"name":""}]"#, "strategies[0].name"),
            (r#"[{"name":"flexibleRollout","parameters":{"rollout":"101"}}]"#, "strategies[0].parameters.rollout"),
            (
                r#"[{"name":"gradualRolloutRandom","parameters":{"percentage":"-1"}}]"#,
                "strategies[0].parameters.percentage",
            ),
            (r#"[{"name":"remoteAddress","parameters":{"IPs":"10.0.0.1, nope"}}]"#, "strategies[0].parameters.IPs"),
            (
                r#"[{"name":"default","constraints":[{"contextName":"x","operator":"LIKE","values":[]}]}]"#,
                "strategies[0].constraints[0].operator",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"","operator":"IN"}]}]"#,
                "strategies[0].constraints[0].contextName",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"v","operator":"SEMVER_LT","value":"1.2"}]}]"#,
                "strategies[0].constraints[0].value",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"d","operator":"DATE_AFTER","value":"tomorrow"}]}]"#,
                "strategies[0].constraints[0].value",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"n","operator":"NUM_GT","value":"ten"}]}]"#,
                "strategies[0].constraints[0].value",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"n","operator":"NUM_GT"}]}]"#,
                "strategies[0].constraints[0].value",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"r","operator":"REGEX","value":"(unclosed"}]}]"#,
                "strategies[0].constraints[0].value",
            ),
            (
                r#"[{"name":"default","constraints":[{"contextName":"ip","operator":"IN_CIDR","values":["10.0.0.0/33"]}]}]"#,
                "strategies[0].constraints[0].values[0]",
            ),
            (
                r#"[{"name":"default","variants":[{"name":"a","weight":300,"weightType":"fix"}]}]"#,
                "strategies[0].variants",
            ),
        ];
        for (json, path) in cases {
            assert_eq!(problem(json).path, path, "{json}");
        }
    }
}
