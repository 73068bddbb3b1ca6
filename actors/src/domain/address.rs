//! Shipping addresses and shipments: what a valid address is (the country an ISO 3166-1
//! alpha-2 code of a real country), and what a carrier and a tracking number may hold. An
//! order keeps a copy of its buyer's address as it was when the order was made.

use super::validation::{char_length, FieldErrors};
use serde::{Deserialize, Serialize};

/// The longest name, street line and city, in characters.
pub const MAX_LINE_CHARS: usize = 100;
/// The longest region (state, province, county), in characters.
pub const MAX_REGION_CHARS: usize = 64;
/// The longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 16;
/// The longest carrier name, in characters.
pub const MAX_CARRIER_CHARS: usize = 64;
/// The longest tracking number, in characters.
pub const MAX_TRACKING_CHARS: usize = 64;

/// Every ISO 3166-1 alpha-2 code in use (249, from the ISO 3166 Maintenance Agency's list as
/// Debian's iso-codes carries it), sorted for a binary search.
pub const COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A shipping address that passed every rule: trimmed, optional parts `None` when blank. Also the JSON an order's `ship_to` stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// An address as the client sent it.
#[derive(Clone, Debug, Default)]
pub struct AddressInput {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// Whether `code` is an ISO 3166-1 alpha-2 code (exactly two capitals naming a country).
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES.binary_search(&code).is_ok()
}

/// A line of text: no NUL, no control characters (an address is printed on a label), at most
/// `max` characters as sent, not blank when `required`; kept trimmed.
fn line(value: &str, required: bool, max: usize) -> Result<Option<String>, String> {
    char_length(value, 0, max)?;
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return if required {
            Err("must not be blank".to_owned())
        } else {
            Ok(None)
        };
    }
    Ok(Some(trimmed.to_owned()))
}

/// Validates an address, naming every field at fault. The country must be a real alpha-2 code,
/// in capitals as ISO writes it (`DE`, not `de`).
pub fn validate_address(input: AddressInput) -> Result<Address, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut required = |field: &str, value: &str, max: usize| match line(value, true, max) {
        Ok(v) => v.unwrap_or_default(),
        Err(m) => {
            errors.add(field, m);
            String::new()
        }
    };
    let name = required("name", &input.name, MAX_LINE_CHARS);
    let line1 = required("line1", &input.line1, MAX_LINE_CHARS);
    let city = required("city", &input.city, MAX_LINE_CHARS);
    let postal_code = required("postal_code", &input.postal_code, MAX_POSTAL_CODE_CHARS);
    let mut optional = |field: &str, value: Option<&str>, max: usize| {
        line(value.unwrap_or(""), false, max).unwrap_or_else(|m| {
            errors.add(field, m);
            None
        })
    };
    let line2 = optional("line2", input.line2.as_deref(), MAX_LINE_CHARS);
    let region = optional("region", input.region.as_deref(), MAX_REGION_CHARS);
    let country = input.country;
    if !is_country_code(&country) {
        errors.add(
            "country",
            "must be an ISO 3166-1 alpha-2 country code, such as DE or US",
        );
    }
    errors.into_result(Address {
        name,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
    })
}

/// How a parcel went: both optional, each a short line of text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shipment {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

/// Validates a shipment's carrier and tracking number (blank is none).
pub fn validate_shipment(
    carrier: Option<&str>,
    tracking_number: Option<&str>,
) -> Result<Shipment, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut field = |name: &str, value: Option<&str>, max: usize| {
        line(value.unwrap_or(""), false, max).unwrap_or_else(|m| {
            errors.add(name, m);
            None
        })
    };
    let carrier = field("carrier", carrier, MAX_CARRIER_CHARS);
    let tracking_number = field("tracking_number", tracking_number, MAX_TRACKING_CHARS);
    errors.into_result(Shipment {
        carrier,
        tracking_number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput {
        AddressInput {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: None,
            city: "London".into(),
            region: Some("  ".into()),
            postal_code: "SW1Y 4JH".into(),
            country: "GB".into(),
        }
    }

    #[test]
    fn the_country_list_is_sorted_real_and_complete() {
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(COUNTRY_CODES
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for real in ["DE", "US", "GB", "FR", "JP", "BR", "ZA", "SS", "AX"] {
            assert!(is_country_code(real), "{real}");
        }
        // Not ISO 3166-1: "UK" (reserved), "EU" (exceptionally reserved), "XK" (user-assigned),
        // "ZZ", lower case, three letters.
        for fake in ["UK", "EU", "XK", "ZZ", "de", "DEU", "D", ""] {
            assert!(!is_country_code(fake), "{fake}");
        }
    }

    #[test]
    fn a_valid_address_is_trimmed_and_its_blank_parts_none() {
        let a = validate_address(input()).unwrap();
        assert_eq!(a.country, "GB");
        assert_eq!(a.region, None);
        assert_eq!(a.line2, None);
        assert_eq!(a.postal_code, "SW1Y 4JH");
    }

    #[test]
    fn every_field_at_fault_is_named() {
        let bad = AddressInput {
            name: " ".into(),
            line1: "x".repeat(MAX_LINE_CHARS + 1),
            line2: Some("flat\u{0}2".into()),
            city: "Par\nis".into(),
            region: Some("r".repeat(MAX_REGION_CHARS + 1)),
            postal_code: "1".repeat(MAX_POSTAL_CODE_CHARS + 1),
            country: "XX".into(),
        };
        let errors = validate_address(bad).unwrap_err();
        let fields: Vec<_> = errors.fields().keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "city",
                "country",
                "line1",
                "line2",
                "name",
                "postal_code",
                "region"
            ]
        );
        assert_eq!(errors.fields()["line2"], "must not contain NUL characters");
    }

    #[test]
    fn lengths_count_characters() {
        let mut ok = input();
        ok.name = "é".repeat(MAX_LINE_CHARS);
        assert!(validate_address(ok).is_ok());
    }

    #[test]
    fn a_shipment_is_two_optional_short_lines() {
        assert_eq!(validate_shipment(None, None).unwrap(), Shipment::default());
        let s = validate_shipment(Some(" DHL "), Some("JD0146")).unwrap();
        assert_eq!(s.carrier.as_deref(), Some("DHL"));
        let e = validate_shipment(Some("a\u{0}"), Some(&"9".repeat(65))).unwrap_err();
        assert_eq!(e.fields().len(), 2);
    }
}
