//! Multi-factor sign-in with TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of
//! clock skew either way) and single-use recovery codes.
//!
//! - The TOTP secret is encrypted at rest with AES-256-GCM under a key of the key
//!   document (its kid stored beside it, so keys rotate), bound to the user id as
//!   associated data, and never logged or returned after enrollment.
//! - Recovery codes are stored only as keyed hashes (HMAC-SHA256).
//! - A code is accepted once: the step it matched must be later than the last one
//!   used (a conditional write in DynamoDB), so a replay is refused.
//! - Between the password and the code, an mfaToken (Redis, 5 minutes, burned after
//!   5 wrong codes, single use) stands for the half-signed-in user.

use std::time::Duration;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::Engine;
use totp_rs::{Algorithm, Secret, Totp};

use crate::error::ApiError;
use crate::redis_client::{LazyScript, RedisClient};

/// Wrong codes that burn an mfaToken.
pub const MAX_TRIES: u32 = 5;
/// Life of an mfaToken.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Recovery codes handed out at confirmation.
pub const RECOVERY_CODES: usize = 10;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An encrypted TOTP secret as stored: the key's kid and base64(nonce ‖ ciphertext ‖ tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub kid: String,
    pub blob: String,
}

pub struct Mfa {
    /// AES-256 keys by kid; the first seals.
    keys: Vec<(String, LessSafeKey)>,
    /// Keys of the recovery codes' hashes; the first is current.
    recovery_keys: Vec<aws_lc_rs::hmac::Key>,
    issuer: String,
    token_script: LazyScript,
}

fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::internal("the OS random generator failed"))?;
    Ok(bytes)
}

fn token_key(token: &str) -> String {
    format!("mfa:{{{token}}}")
}

/// Recovery codes are typed by people: letters and digits, case and dashes ignored.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Mfa {
    /// `keys` from the key document (`KeySet::mfa_keys`); the host of `issuer` (the
    /// id tokens' `iss`) names the service in authenticator apps.
    pub fn new(
        keys: &[(String, Vec<u8>)],
        recovery_keys: Vec<aws_lc_rs::hmac::Key>,
        issuer: &str,
    ) -> Result<Self, crate::config::ConfigError> {
        let keys = keys
            .iter()
            .map(|(kid, key)| {
                let key = UnboundKey::new(&AES_256_GCM, key)
                    .map_err(|_| crate::config::ConfigError(format!("mfa key {kid:?} is not an AES-256 key")))?;
                Ok((kid.clone(), LessSafeKey::new(key)))
            })
            .collect::<Result<Vec<_>, crate::config::ConfigError>>()?;
        if keys.is_empty() {
            return Err(crate::config::ConfigError("no mfa key".into()));
        }
        // Authenticator apps show the issuer's host; an otpauth issuer has no colon.
        let host = issuer.split("://").last().unwrap_or(issuer);
        let host = host.split(['/', ':']).next().unwrap_or("account-service");
        Ok(Mfa {
            keys,
            recovery_keys,
            issuer: host.to_string(),
            token_script: LazyScript::new(include_str!("mfa_token.lua")),
        })
    }

    /// A new random secret (160 bits, as RFC 4226 recommends).
    pub fn new_secret() -> Result<Vec<u8>, ApiError> {
        Ok(random::<20>()?.to_vec())
    }

    /// The TOTP of a secret, for `account` (the user's email) in authenticator apps.
    pub fn totp(&self, secret: &[u8], account: &str) -> Result<Totp, ApiError> {
        totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(Secret::from(secret.to_vec()))
            .with_issuer(Some(self.issuer.as_str()))
            .with_account_name(account)
            .build()
            .map_err(|e| ApiError::internal(format!("totp: {e}")))
    }

    /// `{"secret", "otpauthUri"}` as enrollment shows them, once.
    pub fn enrollment(&self, secret: &[u8], account: &str) -> Result<(String, String), ApiError> {
        let totp = self.totp(secret, account)?;
        let uri = totp
            .to_url()
            .map_err(|e| ApiError::internal(format!("otpauth uri: {e}")))?;
        Ok((Secret::from(secret.to_vec()).to_base32(), uri))
    }

    /// The step a 6-digit code matches at `now_secs` (one step of skew either way).
    pub fn matching_step(&self, secret: &[u8], code: &str, now_secs: u64) -> Result<Option<u64>, ApiError> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(self.totp(secret, "user")?.check(code, now_secs))
    }

    pub fn seal(&self, secret: &[u8], user_id: &str) -> Result<SealedSecret, ApiError> {
        let (kid, key) = &self.keys[0];
        let nonce_bytes = random::<NONCE_LEN>()?;
        let mut in_out = secret.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(user_id.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| ApiError::internal("sealing a TOTP secret failed"))?;
        let mut blob = nonce_bytes.to_vec();
        blob.extend(in_out);
        Ok(SealedSecret {
            kid: kid.clone(),
            blob: B64.encode(blob),
        })
    }

    pub fn open(&self, sealed: &SealedSecret, user_id: &str) -> Result<Vec<u8>, ApiError> {
        let (_, key) = self
            .keys
            .iter()
            .find(|(kid, _)| *kid == sealed.kid)
            .ok_or_else(|| ApiError::internal(format!("mfa key {:?} is no longer configured", sealed.kid)))?;
        let blob = B64
            .decode(&sealed.blob)
            .map_err(|_| ApiError::internal("a sealed TOTP secret is not base64"))?;
        if blob.len() < NONCE_LEN {
            return Err(ApiError::internal("a sealed TOTP secret is too short"));
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ApiError::internal("bad nonce"))?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut in_out)
            .map_err(|_| ApiError::internal("a sealed TOTP secret does not open"))?;
        Ok(plain.to_vec())
    }

    /// Ten fresh recovery codes (`XXXXX-XXXXX`, 50 bits each) and their stored hashes.
    pub fn recovery_codes(&self) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let raw = Secret::from(random::<7>()?.to_vec()).to_base32();
            codes.push(format!("{}-{}", &raw[..5], &raw[5..10]));
        }
        let hashes = codes.iter().map(|c| self.recovery_hash(c)).collect();
        Ok((codes, hashes))
    }

    /// The stored form of a recovery code (hex of its keyed hash, current key).
    pub fn recovery_hash(&self, code: &str) -> String {
        self.recovery_hashes_of(code).swap_remove(0)
    }

    /// The code's hash under every configured key, the current one first: a code
    /// stored before the keys rotated still matches.
    pub fn recovery_hashes_of(&self, code: &str) -> Vec<String> {
        let message = format!("recovery\0{}", normalize_recovery_code(code));
        self.recovery_keys
            .iter()
            .map(|key| {
                let tag = aws_lc_rs::hmac::sign(key, message.as_bytes());
                tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
            })
            .collect()
    }

    /// A fresh mfaToken for a user who proved the password.
    pub async fn issue_token(&self, redis: &RedisClient, user_id: &str) -> Result<String, ApiError> {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?);
        let key = token_key(&token);
        let ttl_ms = TOKEN_LIFETIME.as_millis() as u64;
        redis
            .run("issue_mfa_token", |mut connection| {
                let key = key.clone();
                let user_id = user_id.to_string();
                async move {
                    redis::pipe()
                        .atomic()
                        .hset(&key, "u", user_id)
                        .pexpire(&key, ttl_ms as i64)
                        .query_async::<()>(&mut connection)
                        .await
                }
            })
            .await?;
        Ok(token)
    }

    async fn token_step<T: redis::FromRedisValue>(
        &self,
        redis: &RedisClient,
        token: &str,
        step: &str,
    ) -> Result<T, ApiError> {
        if token.is_empty() || token.len() > 64 {
            return Err(ApiError::InvalidToken);
        }
        let key = token_key(token);
        redis
            .run("mfa_token", |mut connection| {
                let mut invocation = self.token_script.key(&key);
                invocation.arg(step).arg(MAX_TRIES);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
    }

    /// The user an mfaToken stands for; 401 if it is gone (expired, used, burned).
    pub async fn token_user(&self, redis: &RedisClient, token: &str) -> Result<String, ApiError> {
        let user: Option<String> = self.token_step(redis, token, "peek").await?;
        user.ok_or(ApiError::InvalidToken)
    }

    /// Counts a wrong code against the token (burned at the fifth).
    pub async fn token_failed(&self, redis: &RedisClient, token: &str) -> Result<(), ApiError> {
        self.token_step::<i64>(redis, token, "fail").await.map(drop)
    }

    /// Uses the token up; `false` if another request did first.
    pub async fn burn_token(&self, redis: &RedisClient, token: &str) -> Result<bool, ApiError> {
        Ok(self.token_step::<i64>(redis, token, "burn").await? == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mfa() -> Mfa {
        let recovery = vec![aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &[3; 32])];
        Mfa::new(
            &[("k1".into(), vec![9; 32]), ("k0".into(), vec![8; 32])],
            recovery,
            "Account service",
        )
        .unwrap()
    }

    /// RFC 6238, Appendix B: the SHA-1 test vectors (8 digits there; the last 6 here).
    #[test]
    fn the_rfc_6238_sha1_test_vectors_hold() {
        let secret = b"12345678901234567890";
        let mfa = mfa();
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
            (20000000000, "353130"),
        ] {
            assert_eq!(
                mfa.matching_step(secret, code, time).unwrap(),
                Some(time / 30),
                "at {time}"
            );
        }
        assert_eq!(mfa.matching_step(secret, "287083", 59).unwrap(), None);
        assert_eq!(mfa.matching_step(secret, "28708", 59).unwrap(), None);
    }

    #[test]
    fn one_step_of_skew_is_accepted_either_way_and_no_more() {
        let (mfa, secret) = (mfa(), b"12345678901234567890");
        let code = mfa.totp(secret, "a").unwrap().generate(1_000_020).to_string();
        for (now, accepted) in [
            (1_000_020 - 30, true),
            (1_000_020 + 30, true),
            (1_000_020 + 60, false),
            (1_000_020 - 60, false),
        ] {
            assert_eq!(
                mfa.matching_step(secret, &code, now).unwrap().is_some(),
                accepted,
                "at {now}"
            );
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_and_with_an_older_key_too() {
        let mfa = mfa();
        let sealed = mfa.seal(b"12345678901234567890", "user-1").unwrap();
        assert_eq!(sealed.kid, "k1");
        assert!(!sealed.blob.contains("MTIzNDU2"), "not the plain secret");
        assert_eq!(mfa.open(&sealed, "user-1").unwrap(), b"12345678901234567890");
        assert!(mfa.open(&sealed, "user-2").is_err());
        let older = Mfa::new(
            &[("k0".into(), vec![8; 32])],
            vec![aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &[3; 32])],
            "x",
        )
        .unwrap();
        let old_sealed = older.seal(b"abc", "u").unwrap();
        assert_eq!(mfa.open(&old_sealed, "u").unwrap(), b"abc");
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_typed_loosely() {
        let mfa = mfa();
        let (codes, hashes) = mfa.recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
        assert_eq!(mfa.recovery_hash(&codes[0].to_lowercase().replace('-', " ")), hashes[0]);
    }
}
