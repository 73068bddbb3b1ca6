//! Public profiles: what a user may change about how others see them (display name, bio),
//! and how a profile's rating figure is computed.

use super::account::validate_display_name;
use super::validation::{char_length, FieldErrors};

/// The longest bio, in characters.
pub const MAX_BIO_CHARS: usize = 500;

/// A bio: at most [`MAX_BIO_CHARS`] characters as sent, no NUL and no control characters
/// other than line breaks (`\n`).
pub fn validate_bio(bio: &str) -> Result<(), String> {
    char_length(bio, 0, MAX_BIO_CHARS)?;
    if bio.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters other than line breaks".to_owned());
    }
    Ok(())
}

/// A change to one's own profile that passed every rule (trimmed; `None`: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub display_name: Option<String>,
    pub bio: Option<String>,
}

impl ProfilePatch {
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.bio.is_none()
    }
}

/// Validates a profile change, naming every field at fault. The display name follows the
/// sign-up rule (`account::validate_display_name`).
pub fn validate_profile_patch(
    display_name: Option<String>,
    bio: Option<String>,
) -> Result<ProfilePatch, FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Some(name) = &display_name {
        errors.check("display_name", validate_display_name(name));
    }
    if let Some(bio) = &bio {
        errors.check("bio", validate_bio(bio));
    }
    errors.into_result(ProfilePatch {
        display_name: display_name.map(|n| n.trim().to_owned()),
        bio: bio.map(|b| b.trim().to_owned()),
    })
}

/// The average of `count` ratings whose stars sum to `sum`, rounded to one decimal (halves
/// up), in integer arithmetic; `None` when there are none.
pub fn rating_average(sum: i64, count: i64) -> Option<f64> {
    if count <= 0 {
        return None;
    }
    // tenths = round(10 * sum / count), halves up.
    let tenths = (20 * sum + count) / (2 * count);
    Some(tenths as f64 / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bio_is_short_text_with_line_breaks_only() {
        assert!(validate_bio("").is_ok());
        assert!(validate_bio("Collector of old cameras.\nShips on Mondays.").is_ok());
        assert!(validate_bio(&"é".repeat(MAX_BIO_CHARS)).is_ok());
        assert!(validate_bio(&"é".repeat(MAX_BIO_CHARS + 1)).is_err());
        assert_eq!(
            validate_bio("a\0b"),
            Err("must not contain NUL characters".to_owned())
        );
        assert!(validate_bio("tab\there").is_err());
        assert!(validate_bio("bell\u{7}").is_err());
    }

    #[test]
    fn a_profile_patch_names_each_bad_field_and_trims_the_good_ones() {
        let e = validate_profile_patch(Some(" ".into()), Some("\u{0}".into())).unwrap_err();
        let fields: Vec<_> = e.fields().keys().cloned().collect();
        assert_eq!(fields, ["bio", "display_name"]);
        let e = validate_profile_patch(Some("a\u{1b}[31m".into()), None).unwrap_err();
        assert_eq!(
            e.fields()["display_name"],
            "must not contain control characters"
        );
        let ok = validate_profile_patch(Some(" Ada ".into()), None).unwrap();
        assert_eq!(ok.display_name.as_deref(), Some("Ada"));
        assert_eq!(ok.bio, None);
        assert!(validate_profile_patch(None, None).unwrap().is_empty());
    }

    #[test]
    fn the_average_is_rounded_to_one_decimal_halves_up() {
        assert_eq!(rating_average(0, 0), None);
        assert_eq!(rating_average(5, 1), Some(5.0));
        assert_eq!(rating_average(9, 2), Some(4.5));
        assert_eq!(rating_average(13, 3), Some(4.3)); // 4.333…
        assert_eq!(rating_average(14, 3), Some(4.7)); // 4.666…
        assert_eq!(rating_average(89, 20), Some(4.5)); // 4.45 rounds up
        assert_eq!(rating_average(500_000, 100_000), Some(5.0));
    }

    proptest::proptest! {
        #[test]
        fn the_average_is_within_a_twentieth_of_the_exact_mean(
            stars in proptest::collection::vec(1i64..=5, 1..200)
        ) {
            let (sum, count) = (stars.iter().sum::<i64>(), stars.len() as i64);
            let avg = rating_average(sum, count).unwrap();
            let exact = sum as f64 / count as f64;
            proptest::prop_assert!((avg - exact).abs() <= 0.05 + 1e-9);
            proptest::prop_assert!((1.0..=5.0).contains(&avg));
        }
    }
}
