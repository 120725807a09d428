//! Partial `PUT`: an absent field is unchanged, `null` clears a nullable field (and is a 422
//! for one that is not nullable), a value replaces.

use serde::{Deserialize, Deserializer};

use crate::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called when the key is present (absent keys take `Default` via
        // `#[serde(default)]`), so `None` here means an explicit null.
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Patch::Value(value),
            None => Patch::Null,
        })
    }
}

impl<T> Patch<T> {
    /// For a field that cannot be cleared: absent → `None`, null → 422, value → `Some`.
    pub fn not_null(self, field: &str) -> Result<Option<T>, Error> {
        match self {
            Patch::Absent => Ok(None),
            Patch::Null => Err(Error::invalid_field(field, "must not be null")),
            Patch::Value(value) => Ok(Some(value)),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default)]
        description: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_told_apart() {
        let parse = |json: &str| serde_json::from_str::<Body>(json).unwrap().description;
        assert_eq!(parse("{}"), Patch::Absent);
        assert_eq!(parse(r#"{"description":null}"#), Patch::Null);
        assert_eq!(parse(r#"{"description":"x"}"#), Patch::Value("x".to_owned()));
    }

    #[test]
    fn null_is_refused_where_a_field_cannot_be_cleared() {
        assert!(Patch::<String>::Null.not_null("name").is_err());
        assert_eq!(Patch::<String>::Absent.not_null("name").unwrap(), None);
    }
}
