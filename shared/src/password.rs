//! Password hashing with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is CPU- and memory-bound for tens of milliseconds, so it runs on the
//! blocking pool, never on the async workers that serve other requests.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::email::Password;
use crate::error::ApiError;

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// A hash of a random password nobody knows, with the same parameters as real ones.
/// Sign-in verifies it when the email is unknown, so an unknown email costs the same
/// time as a wrong password and timing tells no one which emails exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2lnbi1pbi10aW1pbmctZHVtbXk$3q/9KXvCWbnx7LuXQWC5SCk0RksGA1q5ypX5FszcZ0g";

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC-format argon2id hash of the password.
pub async fn hash(password: &Password) -> Result<String, ApiError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        // 16 bytes from the OS generator (uuid v4 draws them from getrandom).
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(|_| {
            argon2::password_hash::Error::SaltInvalid(argon2::password_hash::errors::InvalidValue::Malformed)
        })?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(format!("password hashing task: {e}")))?
    .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

/// Whether the password matches the stored hash; `None` verifies the dummy hash
/// (and always answers false) so that the cost is the same.
pub async fn verify(password: &Password, stored_hash: Option<String>) -> Result<bool, ApiError> {
    let password = password.expose().to_owned();
    let known = stored_hash.is_some();
    let stored = stored_hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&stored).map_err(|e| ApiError::internal(format!("stored hash unreadable: {e}")))?;
        let matches = argon2().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| ApiError::internal(format!("password verification task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_uses_the_same_parameters_as_real_hashes() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, PASSES, LANES)
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let password = Password::parse("correct horse".into()).unwrap();
        let hashed = hash(&password).await.unwrap();
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&password, Some(hashed.clone())).await.unwrap());
        let wrong = Password::parse("wrong horse".into()).unwrap();
        assert!(!verify(&wrong, Some(hashed)).await.unwrap());
        assert!(!verify(&password, None).await.unwrap());
    }
}
