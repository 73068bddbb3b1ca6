//! Field-level validation errors, reported to clients as `errors: {field: message}`.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One field at fault.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records the first problem found with `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    /// Records `check`'s error, if any, against `field`.
    pub fn check(&mut self, field: &str, check: Result<(), String>) {
        if let Err(message) = check {
            self.add(field, message);
        }
    }

    /// Records every problem of `other` (keeping this one's first problem for a field).
    pub fn extend(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(&field, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// Checks that `value` is text a client may store: no NUL character (PostgreSQL cannot keep one
/// in a text column, so it would fail there and pass on SQLite), and between `min` and `max`
/// characters (Unicode scalar values).
pub fn char_length(value: &str, min: usize, max: usize) -> Result<(), String> {
    no_nul(value)?;
    let n = value.chars().count();
    if n < min {
        Err(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        })
    } else if n > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(())
    }
}

/// Checks text that must say something: 1 to `max` characters as sent (the limit the OpenAPI
/// document states), and not only whitespace (such text is stored or judged trimmed).
pub fn non_blank(value: &str, max: usize) -> Result<(), String> {
    char_length(value, 1, max)?;
    if value.trim().is_empty() {
        Err("must not be blank".to_owned())
    } else {
        Ok(())
    }
}

/// Refuses text with a NUL character, which no field of ours may hold.
pub fn no_nul(value: &str) -> Result<(), String> {
    if value.contains('\0') {
        Err("must not contain NUL characters".to_owned())
    } else {
        Ok(())
    }
}

/// Checks that `value` is within `min..=max`.
pub fn in_range(value: i64, min: i64, max: i64) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_error_per_field() {
        let mut e = FieldErrors::new();
        e.add("title", "first");
        e.add("title", "second");
        assert_eq!(e.fields()["title"], "first");
    }

    #[test]
    fn nul_is_refused_in_any_text() {
        assert_eq!(
            char_length("a\0b", 0, 10),
            Err("must not contain NUL characters".to_owned())
        );
        assert!(char_length("\0", 1, 1).is_err());
        assert!(no_nul("plain text, with punctuation: -\"'").is_ok());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(char_length("ééé", 3, 3).is_ok());
        assert!(char_length("", 1, 3).is_err());
        assert!(char_length("abcd", 1, 3).is_err());
    }

    #[test]
    fn non_blank_text_counts_what_was_sent_and_needs_more_than_whitespace() {
        assert!(non_blank(" a ", 3).is_ok());
        assert!(non_blank(" a  ", 3).is_err());
        assert!(non_blank(" \u{3000}\t", 5).is_err());
        assert!(non_blank("", 5).is_err());
        assert!(non_blank("a\0", 5).is_err());
    }
}
