//! Emailed one-time codes: 8 digits, stored in Redis only as a keyed hash
//! (HMAC-SHA256 with the key document's code key), single use, a new code replaces
//! the previous one, 5 wrong tries burn it; reset codes live 1 hour, verification
//! and email-change codes 24 hours. 10^8 codes against 5 tries: a guesser wins with
//! probability 5 in 100,000,000 per code, and requesting codes is rate limited.

use std::time::Duration;

use redis::Value;

use crate::error::ApiError;
use crate::redis_client::{LazyScript, RedisClient};

/// Wrong tries that burn a code.
pub const MAX_TRIES: u32 = 5;

/// What a code proves; each has its own key, so codes of different purposes never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The address of a signed-up user is theirs (subject: the user id).
    VerifyEmail,
    /// The user may set a new password (subject: the email: it is all the caller gives).
    ResetPassword,
    /// The new address of an email change is the user's (subject: the user id).
    ChangeEmail,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify",
            Purpose::ResetPassword => "reset",
            Purpose::ChangeEmail => "change",
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::ResetPassword => Duration::from_secs(3600),
            Purpose::VerifyEmail | Purpose::ChangeEmail => Duration::from_secs(24 * 3600),
        }
    }
}

fn key(purpose: Purpose, subject: &str) -> String {
    format!("code:{{{subject}}}:{}", purpose.name())
}

pub struct Codes {
    key: aws_lc_rs::hmac::Key,
    store: LazyScript,
    redeem: LazyScript,
}

/// 8 uniformly random digits from the OS generator (the modulo bias of a 64-bit
/// draw over 10^8 is below 10^-10).
fn new_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::internal("the OS random generator failed"))?;
    Ok(format!("{:08}", u64::from_be_bytes(bytes) % 100_000_000))
}

impl Codes {
    pub fn new(key: aws_lc_rs::hmac::Key) -> Self {
        Codes {
            key,
            store: LazyScript::new(include_str!("store_code.lua")),
            redeem: LazyScript::new(include_str!("redeem_code.lua")),
        }
    }

    fn hash(&self, purpose: Purpose, subject: &str, code: &str) -> Vec<u8> {
        let message = [purpose.name(), subject, code].join("\0");
        aws_lc_rs::hmac::sign(&self.key, message.as_bytes()).as_ref().to_vec()
    }

    /// A fresh code for `subject`, replacing its previous one; `extra` is handed back
    /// when the code is redeemed (the new address of an email change).
    pub async fn issue(
        &self,
        redis: &RedisClient,
        purpose: Purpose,
        subject: &str,
        extra: &str,
    ) -> Result<String, ApiError> {
        let code = new_code()?;
        let hash = self.hash(purpose, subject, &code);
        let ttl_ms = purpose.lifetime().as_millis() as u64;
        let key = key(purpose, subject);
        redis
            .run("store_code", |mut connection| {
                let mut invocation = self.store.key(&key);
                invocation.arg(&hash[..]).arg(extra).arg(ttl_ms);
                async move { invocation.invoke_async::<()>(&mut connection).await }
            })
            .await?;
        Ok(code)
    }

    /// Voids every pending code of a user who is going away (the reset code lives
    /// under the email, the others under the user id: two slots, two calls).
    pub async fn forget_user(&self, redis: &RedisClient, user_id: &str, email: &str) -> Result<(), ApiError> {
        let keys = [
            vec![key(Purpose::VerifyEmail, user_id), key(Purpose::ChangeEmail, user_id)],
            vec![key(Purpose::ResetPassword, email)],
        ];
        for keys in keys {
            redis
                .run("forget_codes", |mut connection| {
                    let keys = keys.clone();
                    async move { redis::cmd("DEL").arg(keys).query_async::<()>(&mut connection).await }
                })
                .await?;
        }
        Ok(())
    }

    /// Redeems `presented`: the code's `extra` if it was right (it is gone then),
    /// else 400 `invalid-code` (one answer for wrong, used, expired or burned).
    pub async fn redeem(
        &self,
        redis: &RedisClient,
        purpose: Purpose,
        subject: &str,
        presented: &str,
    ) -> Result<String, ApiError> {
        // Anything but 8 digits cannot be a code; it still counts as a try.
        let hash = self.hash(purpose, subject, presented);
        let key = key(purpose, subject);
        let reply: Vec<Value> = redis
            .run("redeem_code", |mut connection| {
                let mut invocation = self.redeem.key(&key);
                invocation.arg(&hash[..]).arg(MAX_TRIES);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        let text = |index: usize| {
            reply
                .get(index)
                .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
        };
        match text(0).as_deref() {
            Some("ok") => Ok(text(1).unwrap_or_default()),
            _ => Err(ApiError::InvalidCode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits() {
        for _ in 0..100 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn a_hash_depends_on_purpose_subject_and_code() {
        let codes = Codes::new(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &[7; 32]));
        let base = codes.hash(Purpose::ResetPassword, "a@example.com", "12345678");
        assert_ne!(base, codes.hash(Purpose::VerifyEmail, "a@example.com", "12345678"));
        assert_ne!(base, codes.hash(Purpose::ResetPassword, "b@example.com", "12345678"));
        assert_ne!(base, codes.hash(Purpose::ResetPassword, "a@example.com", "12345679"));
        assert_eq!(base, codes.hash(Purpose::ResetPassword, "a@example.com", "12345678"));
    }
}
