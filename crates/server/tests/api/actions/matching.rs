//! Which signals an action set's filters let through, checked end to end: each test makes one
//! action set per case (and, for a single filter, a twin with `inverted`, which must hold
//! exactly when the case does not), sends one real signal, and looks at which sets ran.

use serde_json::{Value, json};

use super::{Fixture, toggle};

/// One action set to try: its filters and whether the signal should start a run.
struct Case {
    label: String,
    filters: Value,
    runs: bool,
}

/// A single filter on `path`, and the same filter inverted (which runs when this one does not).
fn filter(label: &str, path: &str, filter: Value, runs: bool) -> [Case; 2] {
    let mut inverted = filter.clone();
    inverted["inverted"] = json!(true);
    [
        Case { label: label.to_owned(), filters: json!({ path: filter }), runs },
        Case { label: format!("inverted: {label}"), filters: json!({ path: inverted }), runs: !runs },
    ]
}

/// Several filters on one set (no inverted twin).
fn all_of(label: &str, filters: Value, runs: bool) -> [Case; 1] {
    [Case { label: label.to_owned(), filters, runs }]
}

fn values(operator: &str, values: &[&str]) -> Value {
    json!({ "operator": operator, "values": values })
}

fn value(operator: &str, value: &str) -> Value {
    json!({ "operator": operator, "value": value })
}

fn insensitive(operator: &str, list: &[&str]) -> Value {
    json!({ "operator": operator, "values": list, "case_insensitive": true })
}

/// Creates a set per case on one server, sends `payload` once, and checks that exactly the
/// sets expected to run did (naming every case that went wrong).
async fn check(payload: Value, cases: impl IntoIterator<Item = Case>) {
    let f = Fixture::with(|c| c.actions.max_action_sets_per_project = 0).await;
    let cases: Vec<Case> = cases.into_iter().collect();
    let mut sets = Vec::with_capacity(cases.len());
    for (n, case) in cases.iter().enumerate() {
        let name: String = format!("{n} {}", case.label).chars().take(100).collect();
        let body =
            f.set_body(&name, case.filters.clone(), json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]));
        let response = f.app.post_json(super::SETS, Some(&f.owner), &body).await;
        assert_eq!(response.status, 201, "{}: {}", case.label, response.text);
        sets.push(response.body["id"].as_str().unwrap().to_owned());
    }
    f.signal(&payload).await;
    f.settled().await;
    let mut wrong = Vec::new();
    for (case, id) in cases.iter().zip(&sets) {
        let runs = f.runs(id).await;
        assert!(runs.len() <= 1, "{}: one signal, at most one run: {runs:?}", case.label);
        if runs.len() == 1 && !case.runs {
            wrong.push(format!("ran but should not: {} {}", case.label, case.filters));
        }
        if runs.is_empty() && case.runs {
            wrong.push(format!("did not run but should: {} {}", case.label, case.filters));
        }
    }
    assert!(wrong.is_empty(), "for the payload {payload}:\n{}", wrong.join("\n"));
}

fn signal() -> Value {
    json!({
        "service": "checkout-api",
        "env": "Production",
        "errors": 12,
        "ratio": 0.75,
        "count": "42",
        "spaced": " 7 ",
        "at": "2026-11-29T12:00:00Z",
        "version": "2.10.0",
        "ok": true,
        "degraded": false,
        "labels": { "severity": "critical", "team": { "name": "payments" } },
        "items": [{ "sku": "A-1" }, { "sku": "B-2" }],
        "nothing": null,
        "list": ["critical"],
        "object": { "severity": "critical" },
        "empty_list": [],
        "empty_object": {},
    })
}

#[tokio::test]
async fn in_and_not_in_compare_the_exact_text() {
    check(
        signal(),
        [
            filter("IN one of the values", "env", values("IN", &["Staging", "Production"]), true),
            filter("IN none of the values", "env", values("IN", &["Staging", "Development"]), false),
            filter("IN is case-sensitive", "env", values("IN", &["production"]), false),
            filter("IN does not match a part", "env", values("IN", &["Prod"]), false),
            filter("NOT_IN none of the values", "env", values("NOT_IN", &["Staging"]), true),
            filter("NOT_IN one of the values", "env", values("NOT_IN", &["Staging", "Production"]), false),
            filter("NOT_IN is case-sensitive", "env", values("NOT_IN", &["production"]), true),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn string_operators_match_parts_of_the_text_and_case_insensitive_ignores_case() {
    check(
        signal(),
        [
            filter("STR_CONTAINS a part", "service", values("STR_CONTAINS", &["kout"]), true),
            filter("STR_CONTAINS any value", "service", values("STR_CONTAINS", &["zzz", "-ap"]), true),
            filter("STR_CONTAINS no part", "service", values("STR_CONTAINS", &["zzz"]), false),
            filter("STR_CONTAINS other case", "service", values("STR_CONTAINS", &["KOUT"]), false),
            filter("STR_CONTAINS other case, insensitive", "service", insensitive("STR_CONTAINS", &["KOUT"]), true),
            filter("STR_CONTAINS insensitive, no part", "service", insensitive("STR_CONTAINS", &["ZZZ"]), false),
            filter("STR_STARTS_WITH the start", "service", values("STR_STARTS_WITH", &["checkout"]), true),
            filter("STR_STARTS_WITH the end", "service", values("STR_STARTS_WITH", &["api"]), false),
            filter("STR_STARTS_WITH other case", "service", values("STR_STARTS_WITH", &["Checkout"]), false),
            filter(
                "STR_STARTS_WITH other case, insensitive",
                "service",
                insensitive("STR_STARTS_WITH", &["CHECKOUT"]),
                true,
            ),
            filter("STR_STARTS_WITH insensitive, the end", "service", insensitive("STR_STARTS_WITH", &["API"]), false),
            filter("STR_ENDS_WITH the end", "service", values("STR_ENDS_WITH", &["-api"]), true),
            filter("STR_ENDS_WITH the start", "service", values("STR_ENDS_WITH", &["checkout"]), false),
            filter("STR_ENDS_WITH other case", "service", values("STR_ENDS_WITH", &["-API"]), false),
            filter("STR_ENDS_WITH other case, insensitive", "service", insensitive("STR_ENDS_WITH", &["-API"]), true),
            filter("STR_ENDS_WITH insensitive, the start", "service", insensitive("STR_ENDS_WITH", &["CHECK"]), false),
            // The text of a value in the payload counts with its case too.
            filter("STR_CONTAINS upper-case text, insensitive", "env", insensitive("STR_CONTAINS", &["prod"]), true),
            filter("STR_CONTAINS upper-case text", "env", values("STR_CONTAINS", &["prod"]), false),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn number_operators_compare_numbers_and_numeric_strings_by_value() {
    check(
        signal(),
        [
            filter("NUM_EQ equal", "errors", value("NUM_EQ", "12"), true),
            filter("NUM_EQ equal as a decimal", "errors", value("NUM_EQ", "12.0"), true),
            filter("NUM_EQ different", "errors", value("NUM_EQ", "13"), false),
            filter("NUM_GT below", "errors", value("NUM_GT", "11"), true),
            filter("NUM_GT equal", "errors", value("NUM_GT", "12"), false),
            filter("NUM_GTE equal", "errors", value("NUM_GTE", "12"), true),
            filter("NUM_GTE above", "errors", value("NUM_GTE", "12.5"), false),
            filter("NUM_LT above", "errors", value("NUM_LT", "100"), true),
            filter("NUM_LT equal", "errors", value("NUM_LT", "12"), false),
            filter("NUM_LTE equal", "errors", value("NUM_LTE", "12"), true),
            filter("NUM_LTE below", "errors", value("NUM_LTE", "9"), false),
            filter("NUM_LT a fraction", "ratio", value("NUM_LT", "1"), true),
            filter("NUM_GT a fraction", "ratio", value("NUM_GT", "0.8"), false),
            // Numbers numerically, not as text: "9" > "12" as text.
            filter("NUM_GT numerically", "errors", value("NUM_GT", "9"), true),
            filter("NUM_LT numerically", "errors", value("NUM_LT", "9"), false),
            // A number sent as a string counts as the number.
            filter("NUM_EQ a numeric string", "count", value("NUM_EQ", "42"), true),
            filter("NUM_GT a numeric string", "count", value("NUM_GT", "41.5"), true),
            filter("NUM_GTE a numeric string", "count", value("NUM_GTE", "43"), false),
            filter("NUM_LTE a numeric string", "count", value("NUM_LTE", "42"), true),
            filter("NUM_LT a numeric string", "count", value("NUM_LT", "42"), false),
            filter("NUM_EQ a numeric string with spaces", "spaced", value("NUM_EQ", "7"), true),
            // Text that is not a number satisfies no number operator.
            filter("NUM_GT text", "service", value("NUM_GT", "0"), false),
            filter("NUM_LT text", "service", value("NUM_LT", "0"), false),
            filter("NUM_EQ a boolean", "ok", value("NUM_EQ", "1"), false),
            // Numbers are text for the text operators.
            filter("IN a number's text", "errors", values("IN", &["12"]), true),
            filter("STR_STARTS_WITH a number's text", "ratio", values("STR_STARTS_WITH", &["0.7"]), true),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn date_operators_compare_instants_whatever_the_offset() {
    check(
        signal(),
        [
            filter("DATE_AFTER an earlier instant", "at", value("DATE_AFTER", "2026-11-29T11:59:59Z"), true),
            filter("DATE_AFTER the same instant", "at", value("DATE_AFTER", "2026-11-29T12:00:00Z"), false),
            filter("DATE_AFTER a later instant", "at", value("DATE_AFTER", "2026-11-30T00:00:00Z"), false),
            filter(
                "DATE_AFTER an earlier instant with an offset",
                "at",
                value("DATE_AFTER", "2026-11-29T12:30:00+01:00"),
                true,
            ),
            filter("DATE_BEFORE a later instant", "at", value("DATE_BEFORE", "2026-12-01T00:00:00Z"), true),
            filter("DATE_BEFORE the same instant", "at", value("DATE_BEFORE", "2026-11-29T12:00:00Z"), false),
            filter(
                "DATE_BEFORE the same instant with an offset",
                "at",
                value("DATE_BEFORE", "2026-11-29T13:00:00+01:00"),
                false,
            ),
            filter(
                "DATE_BEFORE a later instant with an offset",
                "at",
                value("DATE_BEFORE", "2026-11-29T07:30:00-05:00"),
                true,
            ),
            filter("DATE_BEFORE an earlier instant", "at", value("DATE_BEFORE", "2026-01-01T00:00:00Z"), false),
            filter("DATE_AFTER text that is not a date", "service", value("DATE_AFTER", "2000-01-01T00:00:00Z"), false),
            filter("DATE_BEFORE a number", "errors", value("DATE_BEFORE", "2999-01-01T00:00:00Z"), false),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn semver_operators_compare_versions_by_precedence() {
    check(
        signal(),
        [
            filter("SEMVER_EQ the same version", "version", value("SEMVER_EQ", "2.10.0"), true),
            filter("SEMVER_EQ another version", "version", value("SEMVER_EQ", "2.1.0"), false),
            filter("SEMVER_EQ a pre-release of it", "version", value("SEMVER_EQ", "2.10.0-rc.1"), false),
            // 2.10.0 > 2.9.0 by precedence, though "2.10.0" < "2.9.0" as text.
            filter("SEMVER_GT an older minor", "version", value("SEMVER_GT", "2.9.0"), true),
            filter("SEMVER_GT its own pre-release", "version", value("SEMVER_GT", "2.10.0-rc.1"), true),
            filter("SEMVER_GT the same version", "version", value("SEMVER_GT", "2.10.0"), false),
            filter("SEMVER_GT a newer version", "version", value("SEMVER_GT", "2.10.1"), false),
            filter("SEMVER_LT a newer major's pre-release", "version", value("SEMVER_LT", "3.0.0-rc.1"), true),
            filter("SEMVER_LT a newer patch", "version", value("SEMVER_LT", "2.10.1"), true),
            filter("SEMVER_LT the same version", "version", value("SEMVER_LT", "2.10.0"), false),
            filter("SEMVER_LT an older minor", "version", value("SEMVER_LT", "2.9.9"), false),
            filter("SEMVER_EQ text that is not a version", "service", value("SEMVER_EQ", "1.0.0"), false),
            filter("SEMVER_GT a number", "errors", value("SEMVER_GT", "0.0.1"), false),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn booleans_compare_as_the_text_true_and_false() {
    check(
        signal(),
        [
            filter("IN true", "ok", values("IN", &["true"]), true),
            filter("IN false for true", "ok", values("IN", &["false"]), false),
            filter("IN 1 for true", "ok", values("IN", &["1"]), false),
            filter("IN True (capital)", "ok", values("IN", &["True"]), false),
            filter("IN false", "degraded", values("IN", &["false"]), true),
            filter("NOT_IN false for false", "degraded", values("NOT_IN", &["false"]), false),
            filter("NOT_IN true for false", "degraded", values("NOT_IN", &["true"]), true),
            filter("STR_STARTS_WITH tr", "ok", values("STR_STARTS_WITH", &["tr"]), true),
            filter("STR_CONTAINS ALS, insensitive", "degraded", insensitive("STR_CONTAINS", &["ALS"]), true),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn paths_walk_nested_objects_and_array_indexes() {
    check(
        signal(),
        [
            filter("a nested key", "labels.severity", values("IN", &["critical"]), true),
            filter("a nested key, another value", "labels.severity", values("IN", &["info"]), false),
            filter("three levels down", "labels.team.name", values("IN", &["payments"]), true),
            filter("three levels down, another value", "labels.team.name", values("IN", &["search"]), false),
            filter("the first item", "items.0.sku", values("IN", &["A-1"]), true),
            filter("the second item", "items.1.sku", values("IN", &["B-2"]), true),
            filter("the first item is not the second's value", "items.0.sku", values("IN", &["B-2"]), false),
            filter("an item past the end", "items.2.sku", values("NOT_IN", &["A-1"]), false),
            filter("an index that is not a number", "items.first.sku", values("NOT_IN", &["A-1"]), false),
            filter("a key under a string", "service.name", values("NOT_IN", &["x"]), false),
            filter("a key under a number", "errors.count", values("NOT_IN", &["x"]), false),
            filter("a key missing in the middle", "labels.owner.name", values("NOT_IN", &["x"]), false),
            filter("a key of the right name at the wrong level", "severity", values("IN", &["critical"]), false),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

/// For each operator, a filter that a value turned into text ("null", `["critical"]`,
/// `{"severity":"critical"}`, "0"…) would satisfy.
fn every_operator() -> Vec<(&'static str, Value)> {
    vec![
        ("IN", values("IN", &["critical", "null", "", "[]", "{}"])),
        ("NOT_IN", values("NOT_IN", &["x"])),
        ("STR_CONTAINS", values("STR_CONTAINS", &["c", "n", "[", "{"])),
        ("STR_STARTS_WITH", values("STR_STARTS_WITH", &["c", "n", "[", "{"])),
        ("STR_ENDS_WITH", values("STR_ENDS_WITH", &["l", "]", "}", "l"])),
        ("NUM_EQ", value("NUM_EQ", "0")),
        ("NUM_GT", value("NUM_GT", "-1")),
        ("NUM_GTE", value("NUM_GTE", "0")),
        ("NUM_LT", value("NUM_LT", "1")),
        ("NUM_LTE", value("NUM_LTE", "0")),
        ("DATE_AFTER", value("DATE_AFTER", "1970-01-01T00:00:00Z")),
        ("DATE_BEFORE", value("DATE_BEFORE", "2999-01-01T00:00:00Z")),
        ("SEMVER_EQ", value("SEMVER_EQ", "0.0.0")),
        ("SEMVER_GT", value("SEMVER_GT", "0.0.0")),
        ("SEMVER_LT", value("SEMVER_LT", "999.0.0")),
    ]
}

#[tokio::test]
async fn a_missing_path_satisfies_no_operator_not_even_not_in_and_inverted_then_holds() {
    let cases = every_operator()
        .into_iter()
        .flat_map(|(operator, f)| filter(&format!("{operator} on a missing path"), "absent", f, false));
    check(signal(), cases).await;
}

#[tokio::test]
async fn null_arrays_and_objects_satisfy_no_operator_and_inverted_then_holds() {
    let mut cases = Vec::new();
    for path in ["nothing", "list", "object", "empty_list", "empty_object"] {
        for (operator, f) in every_operator() {
            cases.extend(filter(&format!("{operator} on {path}"), path, f, false));
        }
    }
    check(signal(), cases).await;
}

#[tokio::test]
async fn a_payload_that_is_an_array_is_walked_by_index_and_has_no_keys() {
    check(
        json!(["critical", { "sku": "A-1" }]),
        [
            filter("the first item of an array payload", "0", values("IN", &["critical"]), true),
            filter("a key in the second item", "1.sku", values("IN", &["A-1"]), true),
            filter("a key of an array payload", "severity", values("NOT_IN", &["x"]), false),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn a_payload_that_is_a_scalar_has_no_paths() {
    check(
        json!("critical"),
        [
            filter("NOT_IN on a text payload", "level", values("NOT_IN", &["x"]), false),
            filter("STR_CONTAINS on a text payload", "level", values("STR_CONTAINS", &["c"]), false),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}

#[tokio::test]
async fn every_filter_of_a_set_must_hold() {
    let critical = values("IN", &["critical"]);
    check(
        signal(),
        [
            all_of("two that hold", json!({ "labels.severity": critical, "errors": value("NUM_GT", "10") }), true),
            all_of("one of two fails", json!({ "labels.severity": critical, "errors": value("NUM_GT", "20") }), false),
            all_of(
                "the other of two fails",
                json!({ "labels.severity": values("IN", &["info"]), "errors": value("NUM_GT", "10") }),
                false,
            ),
            all_of(
                "a missing path among them fails",
                json!({ "labels.severity": critical, "absent": values("NOT_IN", &["x"]) }),
                false,
            ),
            all_of(
                "an inverted missing path among them holds",
                json!({ "labels.severity": critical,
                        "absent": { "operator": "NOT_IN", "values": ["x"], "inverted": true } }),
                true,
            ),
            all_of(
                "five of every kind that hold",
                json!({
                    "labels.team.name": values("IN", &["payments"]),
                    "service": insensitive("STR_STARTS_WITH", &["CHECKOUT"]),
                    "count": value("NUM_GTE", "42"),
                    "at": value("DATE_BEFORE", "2027-01-01T00:00:00Z"),
                    "version": value("SEMVER_GT", "2.0.0"),
                }),
                true,
            ),
            all_of(
                "five where only the last fails",
                json!({
                    "labels.team.name": values("IN", &["payments"]),
                    "service": insensitive("STR_STARTS_WITH", &["CHECKOUT"]),
                    "count": value("NUM_GTE", "42"),
                    "at": value("DATE_BEFORE", "2027-01-01T00:00:00Z"),
                    "version": value("SEMVER_GT", "3.0.0"),
                }),
                false,
            ),
            all_of("no filters at all", json!({}), true),
        ]
        .into_iter()
        .flatten(),
    )
    .await;
}
