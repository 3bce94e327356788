//! Emails and passwords as typed values, parsed at the edge so invalid data cannot
//! reach the core.
//!
//! Emails are normalized by trimming surrounding whitespace and lower-casing. Only
//! ASCII addresses are accepted (no Unicode normalization is needed or applied):
//! internationalized addresses are refused with a clear 400 rather than stored in
//! one of several equivalent forms.

/// RFC 5321 limits: 64 octets of local part, 254 octets of path.
const MAX_EMAIL_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A syntactically valid, normalized email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and checks the syntax; the error is the message for the client.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim();
        if email.is_empty() {
            return Err("is required");
        }
        if !email.is_ascii() {
            return Err("must be an ASCII email address");
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err("must be at most 254 characters");
        }
        let email = email.to_ascii_lowercase();
        let (local, domain) = email.rsplit_once('@').ok_or("must be an email address")?;
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL_LEN
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err("must be an email address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password within the contract's length bounds. Never printed: `Debug` is redacted.
pub struct Password(String);

impl Password {
    /// Length is counted in characters; the error never echoes the password.
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            Err("must be at least 8 characters")
        } else if chars > MAX_PASSWORD_CHARS {
            Err("must be at most 128 characters")
        } else {
            Ok(Password(raw))
        }
    }

    /// A password presented to be checked against the stored hash (a current
    /// password): no length rule, a wrong one is simply wrong.
    pub fn presented(raw: String) -> Self {
        Password(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada@Example.COM\t").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn invalid_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a@.com",
            "a..b@example.com",
            "a b@example.com",
            "é@example.com",
            "a@exa\u{0}mple.com",
            "a@-x.com",
            "a\n@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("é".repeat(128)).is_ok());
        assert!(Password::parse("é".repeat(129)).is_err());
    }
}
