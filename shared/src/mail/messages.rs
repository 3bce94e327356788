//! What the service writes to people. Codes are in the text part (and the HTML part):
//! codes, not links, so a mail scanner that opens links cannot burn them, and the
//! user can read the code on one device and type it on another.

/// One mail: subject, text part, HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Mail {
    fn new(subject: &str, paragraphs: &[&str]) -> Mail {
        let text = paragraphs.join("\n\n") + "\n";
        let html = paragraphs
            .iter()
            .map(|p| format!("<p>{}</p>", html_escape(p)))
            .collect::<Vec<_>>()
            .join("\n");
        Mail {
            subject: subject.into(),
            text,
            html: format!("<!doctype html>\n<html><body>\n{html}\n</body></html>\n"),
        }
    }

    pub fn verify_email(code: &str) -> Mail {
        Mail::new(
            "Your verification code",
            &[
                &format!("Your code to verify this email address: {code}"),
                "It is valid for 24 hours. If you did not ask for it, ignore this mail.",
            ],
        )
    }

    pub fn reset_password(code: &str) -> Mail {
        Mail::new(
            "Your password reset code",
            &[
                &format!("Your code to reset your password: {code}"),
                "It is valid for 1 hour. If you did not ask for it, ignore this mail: your password stays as it is.",
            ],
        )
    }

    /// Sent instead of a reset code when no account has the address: the same work
    /// and timing as for a known address, and its owner learns what happened.
    pub fn reset_without_account() -> Mail {
        Mail::new(
            "Password reset requested",
            &[
                "Someone asked to reset the password of an account with this email address, but there is no such account.",
                "If it was not you, ignore this mail.",
            ],
        )
    }

    pub fn password_was_reset() -> Mail {
        Mail::new(
            "Your password was reset",
            &[
                "The password of your account was reset and every session was signed out.",
                "If it was not you, reset it again at once and check your email account's security.",
            ],
        )
    }

    pub fn change_email(code: &str) -> Mail {
        Mail::new(
            "Confirm your new email address",
            &[
                &format!("Your code to confirm this as your account's new email address: {code}"),
                "It is valid for 24 hours. If you did not ask for it, ignore this mail.",
            ],
        )
    }

    pub fn email_change_requested(new_email: &str) -> Mail {
        Mail::new(
            "Your email address is being changed",
            &[
                &format!("Someone signed in to your account asked to move it to {new_email}."),
                "If it was not you, change your password at once: the change needs the code sent to the new address.",
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_in_the_text_part_and_the_html_part_is_escaped() {
        let mail = Mail::verify_email("01234567");
        assert!(mail.text.contains("01234567"));
        assert!(mail.html.contains("01234567"));
        let notice = Mail::email_change_requested("<b>x</b>@example.com");
        assert!(notice.html.contains("&lt;b&gt;") && !notice.html.contains("<b>x"));
    }
}
