//! A custom signal type's name as the API spells it. Unstuck says the `signal_type` in a body
//! "matches the declared name (lowercased, underscored)", so "User Invited Teammate" is sent
//! as `user_invited_teammate`; this is that rule, written down once.
//!
//! Only ASCII letters and digits survive. Everything else — spaces, punctuation, and also
//! non-ASCII letters such as `Ü` — is a separator: we do not transliterate (`Ü` is not `u`
//! in every language) and we do not keep Unicode (the slug is an identifier in URLs, logs
//! and CEL, where plain ASCII avoids look-alike names). So "Ünïcode" becomes `n_code`; a name
//! with no ASCII letters or digits at all is refused rather than silently becoming `_`.

/// Longest slug accepted, in characters (all ASCII, so also in bytes).
pub const MAX_LENGTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("must contain at least one ASCII letter or digit")]
    Empty,
    #[error("must be at most {MAX_LENGTH} characters once lower-cased and underscored, not {0}")]
    TooLong(usize),
}

/// Lower-cases `name` (ASCII only), turns each run of characters outside `[a-z0-9]` into one
/// `_`, and trims `_` from both ends. The length limit applies to the result, because the
/// result is what is stored and matched.
pub fn slugify(name: &str) -> Result<String, SlugError> {
    let mut slug = String::with_capacity(name.len());
    let mut pending_separator = false;
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            // A separator is only written between two kept characters, which trims both ends.
            if pending_separator && !slug.is_empty() {
                slug.push('_');
            }
            pending_separator = false;
            slug.push(c);
        } else {
            pending_separator = true;
        }
    }
    if slug.is_empty() {
        return Err(SlugError::Empty);
    }
    if slug.len() > MAX_LENGTH {
        return Err(SlugError::TooLong(slug.len()));
    }
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_name_becomes_lowercase_and_underscored() {
        assert_eq!(slugify("User Invited Teammate").unwrap(), "user_invited_teammate");
    }

    #[test]
    fn runs_of_punctuation_collapse_and_the_ends_are_trimmed() {
        assert_eq!(slugify("  SSO -- enabled!! ").unwrap(), "sso_enabled");
        assert_eq!(slugify("__already_a_slug__").unwrap(), "already_a_slug");
        assert_eq!(slugify("plan.tier/2").unwrap(), "plan_tier_2");
    }

    #[test]
    fn non_ascii_letters_are_separators_not_transliterated() {
        assert_eq!(slugify("Ünïcode").unwrap(), "n_code");
        assert_eq!(slugify("café signup").unwrap(), "caf_signup");
    }

    #[test]
    fn a_name_without_ascii_letters_or_digits_is_refused() {
        for bad in ["", "   ", "___", "!!", "ÜÏ"] {
            assert_eq!(slugify(bad), Err(SlugError::Empty), "{bad:?}");
        }
    }

    #[test]
    fn the_limit_is_sixty_four_characters_of_slug() {
        assert_eq!(slugify(&"a".repeat(64)).unwrap().len(), 64);
        assert_eq!(slugify(&"a".repeat(65)), Err(SlugError::TooLong(65)));
        // Trimmed separators do not count against the limit.
        assert!(slugify(&format!("  {}  ", "a".repeat(64))).is_ok());
    }

    #[test]
    fn digits_survive() {
        assert_eq!(slugify("Step 2 Done").unwrap(), "step_2_done");
    }
}
