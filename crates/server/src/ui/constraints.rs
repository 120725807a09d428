//! What the UI's forms share: the form body as ordered pairs (`Fields`, for every form that
//! repeats a name), errors placed
//! next to the inputs they name (the rest above the form), and constraint rows (`c{j}_context`,
//! `c{j}_operator`, `c{j}_values`, `c{j}_value`, `c{j}_inverted`, `c{j}_case_insensitive`,
//! `c{j}_remove`) read back into the API's `Constraint`s.

use std::cell::RefCell;

use maud::{Markup, html};
use signalbox_core::flags::{Constraint, Operator};

use crate::Error;
use crate::error::FieldError;

/// A form body as ordered pairs (checkboxes repeat a name).
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A row count the form carries (`rows` hidden fields), within reason.
    pub fn count(&self, name: &str) -> usize {
        self.get(name).and_then(|n| n.trim().parse::<usize>().ok()).unwrap_or(0).min(100)
    }
}

/// An error's field errors, each shown once: next to the input that asks for it, or — when
/// no input did — above the form (`rest`, rendered after the inputs).
pub struct Errors {
    list: Vec<FieldError>,
    shown: RefCell<Vec<bool>>,
}

impl Errors {
    pub fn of(error: Option<&Error>) -> Self {
        let list = error.map(|e| e.problem().errors).unwrap_or_default();
        let shown = RefCell::new(vec![false; list.len()]);
        Self { list, shown }
    }

    /// The message for `field` exactly, or else for something under it not shown yet
    /// (`field[…]`, `field.…`).
    pub fn at(&self, field: &str) -> Option<String> {
        let under = |f: &str| f.strip_prefix(field).is_some_and(|r| r.starts_with(['[', '.']));
        let index = self.list.iter().position(|e| e.field == field).or_else(|| {
            let shown = self.shown.borrow();
            self.list.iter().zip(shown.iter()).position(|(e, s)| !s && under(&e.field))
        })?;
        self.shown.borrow_mut()[index] = true;
        Some(self.list[index].message.clone())
    }

    /// The message for `field` exactly.
    pub fn exact(&self, field: &str) -> Option<String> {
        let index = self.list.iter().position(|e| e.field == field)?;
        self.shown.borrow_mut()[index] = true;
        Some(self.list[index].message.clone())
    }

    /// The errors no input showed.
    pub fn rest(&self) -> Vec<FieldError> {
        let shown = self.shown.borrow();
        self.list.iter().zip(shown.iter()).filter(|(_, s)| !**s).map(|(e, _)| e.clone()).collect()
    }
}

/// The errors no input showed, as a list above the form.
pub fn rest_of(errors: &Errors) -> Markup {
    let rest = errors.rest();
    html! {
        @if !rest.is_empty() {
            ul.error role="alert" {
                @for e in &rest { li { code { (e.field) } ": " (e.message) } }
            }
        }
    }
}

/// A labelled input whose error (field `field` in the API's terms) sits next to it.
pub fn input(id: &str, name: &str, label: &str, value: &str, error: Option<String>) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type="text" value=(value)
                aria-invalid=[error.as_ref().map(|_| "true")] aria-describedby=[error.as_ref().map(|_| format!("{id}-error"))];
            @if let Some(message) = error { p.error id=(format!("{id}-error")) { (message) } }
        }
    }
}

/// One constraint row as the form shows it.
#[derive(Debug, Clone, Default)]
pub struct ConstraintRow {
    pub context: String,
    pub operator: String,
    /// Comma-separated.
    pub values: String,
    pub value: String,
    pub inverted: bool,
    pub case_insensitive: bool,
    /// Ticked "remove": left out when saved.
    pub removed: bool,
}

impl ConstraintRow {
    pub fn of(c: &Constraint) -> Self {
        Self {
            context: c.context_name.clone(),
            operator: c.operator.clone(),
            values: c.values.join(", "),
            value: c.value.clone().unwrap_or_default(),
            inverted: c.inverted,
            case_insensitive: c.case_insensitive,
            removed: false,
        }
    }

    fn is_blank(&self) -> bool {
        self.context.trim().is_empty() && self.values.trim().is_empty() && self.value.trim().is_empty()
    }

    fn constraint(&self) -> Constraint {
        Constraint {
            context_name: self.context.trim().to_owned(),
            operator: self.operator.trim().to_owned(),
            values: self.values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect(),
            value: Some(self.value.trim().to_owned()).filter(|v| !v.is_empty()),
            inverted: self.inverted,
            case_insensitive: self.case_insensitive,
        }
    }
}

/// The constraint rows a form sent (`constraint_rows` of them).
pub fn rows_from(fields: &Fields) -> Vec<ConstraintRow> {
    (0..fields.count("constraint_rows"))
        .map(|j| ConstraintRow {
            context: fields.text(&format!("c{j}_context")),
            operator: fields.text(&format!("c{j}_operator")),
            values: fields.text(&format!("c{j}_values")),
            value: fields.text(&format!("c{j}_value")),
            inverted: fields.checked(&format!("c{j}_inverted")),
            case_insensitive: fields.checked(&format!("c{j}_case_insensitive")),
            removed: fields.checked(&format!("c{j}_remove")),
        })
        .collect()
}

/// The constraints of the rows that are neither blank nor removed, and for each the row it
/// came from (to put the API's errors back on their rows).
pub fn constraints_of(rows: &[ConstraintRow]) -> (Vec<Constraint>, Vec<usize>) {
    rows.iter()
        .enumerate()
        .filter(|(_, row)| !row.removed && !row.is_blank())
        .map(|(j, row)| (row.constraint(), j))
        .unzip()
}

/// Renames the API's `{list}[n]…` fields (n: the index among what was sent) to the form's rows.
pub fn to_rows(error: Error, list: &str, rows: &[usize]) -> Error {
    let problem = error.problem();
    if problem.errors.is_empty() {
        return error;
    }
    let prefix = format!("{list}[");
    let errors = problem
        .errors
        .into_iter()
        .map(|e| {
            let field = e
                .field
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(n, tail)| Some(format!("{prefix}{}]{tail}", rows.get(n.parse::<usize>().ok()?)?)))
                .unwrap_or(e.field);
            FieldError { field, ..e }
        })
        .collect();
    Error::invalid_fields(errors)
}

/// The constraint rows of a form; `list` is where the API puts them (`constraints`,
/// `strategies[2].constraints`), so its errors land on their row.
pub fn constraint_rows(list: &str, rows: &[ConstraintRow], errors: &Errors) -> Markup {
    html! {
        input type="hidden" name="constraint_rows" value=(rows.len());
        @for (j, row) in rows.iter().enumerate() {
            @let at = format!("{list}[{j}]");
            fieldset.constraint #(format!("constraint-{j}")) {
                legend { "Constraint " (j + 1) }
                (input(&format!("c{j}-context"), &format!("c{j}_context"), "Context field (e.g. userId, appName, country)",
                    &row.context, errors.at(&format!("{at}.contextName"))))
                @let operator_error = errors.at(&format!("{at}.operator"));
                @let known = Operator::ALL.iter().any(|(name, _)| *name == row.operator);
                div.field {
                    label for=(format!("c{j}-operator")) { "Operator" }
                    select id=(format!("c{j}-operator")) name=(format!("c{j}_operator"))
                        aria-invalid=[operator_error.as_ref().map(|_| "true")]
                        aria-describedby=[operator_error.as_ref().map(|_| format!("c{j}-operator-error"))] {
                        @if !known && !row.operator.is_empty() { option value=(row.operator) selected { (row.operator) } }
                        @for (name, _) in Operator::ALL {
                            option value=(name) selected[*name == row.operator] { (name) }
                        }
                    }
                    @if let Some(message) = operator_error { p.error id=(format!("c{j}-operator-error")) { (message) } }
                }
                (input(&format!("c{j}-values"), &format!("c{j}_values"), "Values (comma-separated; list operators)",
                    &row.values, errors.at(&format!("{at}.values"))))
                (input(&format!("c{j}-value"), &format!("c{j}_value"), "Value (number, date, semver and regex operators)",
                    &row.value, errors.at(&format!("{at}.value"))))
                div.field.check {
                    label for=(format!("c{j}-inverted")) {
                        input id=(format!("c{j}-inverted")) type="checkbox" name=(format!("c{j}_inverted")) value="on" checked[row.inverted];
                        " Inverted (NOT)"
                    }
                    label for=(format!("c{j}-case-insensitive")) {
                        input id=(format!("c{j}-case-insensitive")) type="checkbox" name=(format!("c{j}_case_insensitive")) value="on" checked[row.case_insensitive];
                        " Case-insensitive"
                    }
                    @if !row.is_blank() {
                        label for=(format!("c{j}-remove")) {
                            input id=(format!("c{j}-remove")) type="checkbox" name=(format!("c{j}_remove")) value="on" checked[row.removed];
                            " Remove this constraint"
                        }
                    }
                }
            }
        }
    }
}
