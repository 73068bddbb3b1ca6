//! Account rules: what a valid username, password and display name are.

use super::validation::{char_length, non_blank, FieldErrors};

pub const USERNAME_CHARS: (usize, usize) = (3, 32);
pub const PASSWORD_CHARS: (usize, usize) = (8, 128);
pub const DISPLAY_NAME_CHARS: (usize, usize) = (1, 64);
/// How long a bearer token stays valid.
pub const LOGIN_TTL_DAYS: i64 = 30;

pub fn validate_username(username: &str) -> Result<(), String> {
    char_length(username, USERNAME_CHARS.0, USERNAME_CHARS.1)?;
    if username
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(())
    } else {
        Err("may contain only a-z, 0-9 and _".to_owned())
    }
}

pub fn validate_password(password: &str) -> Result<(), String> {
    char_length(password, PASSWORD_CHARS.0, PASSWORD_CHARS.1)
}

pub fn validate_display_name(name: &str) -> Result<(), String> {
    non_blank(name, DISPLAY_NAME_CHARS.1)?;
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// A registration that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub username: String,
    pub password: String,
    pub display_name: String,
}

/// Validates a registration; the display name defaults to the username.
pub fn validate_registration(
    username: String,
    password: String,
    display_name: Option<String>,
) -> Result<Registration, FieldErrors> {
    let mut errors = FieldErrors::new();
    errors.check("username", validate_username(&username));
    errors.check("password", validate_password(&password));
    if let Some(name) = &display_name {
        errors.check("display_name", validate_display_name(name));
    }
    let display_name = display_name
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| username.clone());
    errors.into_result(Registration {
        username,
        password,
        display_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercase_ascii_words() {
        assert!(validate_username("bob_42").is_ok());
        assert!(validate_username("Bob").is_err());
        assert!(validate_username("ab").is_err());
        assert!(validate_username(&"a".repeat(33)).is_err());
        assert!(validate_username("bob smith").is_err());
        assert!(validate_username("bøb").is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn registration_reports_every_field_and_defaults_the_display_name() {
        let e = validate_registration("A".into(), "short".into(), Some(" ".into())).unwrap_err();
        let fields: Vec<_> = e.fields().keys().cloned().collect();
        assert_eq!(fields, ["display_name", "password", "username"]);
        let ok = validate_registration("alice".into(), "password1".into(), None).unwrap();
        assert_eq!(ok.display_name, "alice");
    }
}
