//! Variants, on a flag environment or on a strategy: weights in thousandths that add up to
//! 1000, `variable` weights sharing what the `fix` ones leave, payloads typed.

use serde::{Deserialize, Serialize};

use super::Problem;

pub const TOTAL_WEIGHT: u32 = 1000;
pub const PAYLOAD_TYPES: &[&str] = &["string", "json", "csv", "number"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    pub name: String,
    /// Thousandths.
    #[serde(default)]
    pub weight: u32,
    /// `variable` (default) or `fix`.
    #[serde(default = "variable")]
    pub weight_type: String,
    /// Absent on a strategy's variants means the strategy's own `stickiness` (as the SDKs
    /// read it), so it stays absent rather than becoming `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

fn variable() -> String {
    "variable".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub payload_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub context_name: String,
    pub values: Vec<String>,
}

/// Why a variant list is refused.
pub type VariantProblem = Problem;

/// Checks a list of variants; `path` is where the list is (e.g. `variants`). On success the
/// `variable` weights are filled in as Unleash does: what the fixed ones leave, shared
/// evenly, the remainder to the first.
pub fn normalise(variants: &mut [Variant], path: &str) -> Result<(), VariantProblem> {
    if variants.is_empty() {
        return Ok(());
    }
    let mut fixed_total: u32 = 0;
    let mut variable_count: u32 = 0;
    for (i, variant) in variants.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if variant.name.trim().is_empty() || variant.name.len() > 100 {
            return Err(Problem::new(format!("{at}.name"), "must be 1-100 characters"));
        }
        if variants[..i].iter().any(|v| v.name == variant.name) {
            return Err(Problem::new(format!("{at}.name"), "is used by another variant"));
        }
        match variant.weight_type.as_str() {
            "fix" => {
                if variant.weight > TOTAL_WEIGHT {
                    return Err(Problem::new(format!("{at}.weight"), "must be 0-1000 (thousandths)"));
                }
                fixed_total += variant.weight;
            }
            "variable" => variable_count += 1,
            _ => return Err(Problem::new(format!("{at}.weightType"), "must be variable or fix")),
        }
        if let Some(payload) = &variant.payload {
            check_payload(payload, &format!("{at}.payload"))?;
        }
        for (j, o) in variant.overrides.iter().enumerate() {
            if o.context_name.trim().is_empty() {
                return Err(Problem::new(format!("{at}.overrides[{j}].contextName"), "must not be empty"));
            }
        }
    }
    if fixed_total > TOTAL_WEIGHT || (variable_count == 0 && fixed_total != TOTAL_WEIGHT) {
        return Err(Problem::new(path, format!("variant weights must add up to {TOTAL_WEIGHT}, not {fixed_total}")));
    }
    let left = TOTAL_WEIGHT - fixed_total;
    if let Some(share) = left.checked_div(variable_count) {
        let mut remainder = left % variable_count;
        for variant in variants.iter_mut().filter(|v| v.weight_type == "variable") {
            variant.weight = share + u32::from(remainder > 0);
            remainder = remainder.saturating_sub(1);
        }
    }
    Ok(())
}

fn check_payload(payload: &Payload, at: &str) -> Result<(), Problem> {
    match payload.payload_type.as_str() {
        "json" if serde_json_valid(&payload.value) => Ok(()),
        "json" => Err(Problem::new(format!("{at}.value"), "must be valid JSON for a json payload")),
        "number" if payload.value.trim().parse::<f64>().is_ok_and(f64::is_finite) => Ok(()),
        "number" => Err(Problem::new(format!("{at}.value"), "must be a number for a number payload")),
        "string" | "csv" => Ok(()),
        _ => Err(Problem::new(format!("{at}.type"), "must be string, json, csv or number")),
    }
}

fn serde_json_valid(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(name: &str, weight: u32, weight_type: &str) -> Variant {
        Variant {
            name: name.into(),
            weight,
            weight_type: weight_type.into(),
            stickiness: Some("default".into()),
            payload: None,
            overrides: vec![],
        }
    }

    #[test]
    fn variable_weights_share_what_fixed_ones_leave() {
        let mut list = vec![variant("a", 0, "variable"), variant("b", 400, "fix"), variant("c", 0, "variable")];
        normalise(&mut list, "variants").unwrap();
        assert_eq!(list.iter().map(|v| v.weight).collect::<Vec<_>>(), vec![300, 400, 300]);
        let mut thirds = vec![variant("a", 0, "variable"), variant("b", 0, "variable"), variant("c", 0, "variable")];
        normalise(&mut thirds, "variants").unwrap();
        assert_eq!(thirds.iter().map(|v| v.weight).sum::<u32>(), 1000);
    }

    #[test]
    fn fixed_weights_must_add_up_to_a_thousand() {
        let mut list = vec![variant("a", 600, "fix"), variant("b", 300, "fix")];
        let problem = normalise(&mut list, "variants").unwrap_err();
        assert_eq!(problem.path, "variants");
        let mut over = vec![variant("a", 900, "fix"), variant("b", 200, "fix"), variant("c", 0, "variable")];
        assert!(normalise(&mut over, "variants").is_err());
    }

    #[test]
    fn payloads_are_checked_by_type() {
        let mut list = vec![variant("a", 1000, "fix")];
        list[0].payload = Some(Payload { payload_type: "json".into(), value: "{\"a\":".into() });
        assert_eq!(normalise(&mut list, "v").unwrap_err().path, "v[0].payload.value");
        list[0].payload = Some(Payload { payload_type: "number".into(), value: "4.5".into() });
        assert!(normalise(&mut list, "v").is_ok());
        list[0].payload = Some(Payload { payload_type: "xml".into(), value: "<a/>".into() });
        assert_eq!(normalise(&mut list, "v").unwrap_err().path, "v[0].payload.type");
    }
}
