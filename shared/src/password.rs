//! Password hashing with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is CPU- and memory-bound for tens of milliseconds, so it runs on the
//! blocking pool, never on the async workers that serve other requests. Its 19 MiB of
//! working memory is allocated once per instance and reused: a fresh allocation cost
//! every sign-in about 9 ms of page faults (38 ms instead of 29 ms, BENCHMARKS.md,
//! section 7). The buffer keeps the last hash's blocks between requests, in the same
//! process memory that holds the signing keys, so it exposes nothing they do not.

use std::sync::Mutex;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// The instance's argon2 working memory, between two hashes.
static MEMORY: Mutex<Option<Vec<Block>>> = Mutex::new(None);

fn params() -> Params {
    Params::new(MEMORY_KIB, PASSES, LANES, None).expect("OWASP parameters are valid")
}

/// argon2 of `password` and `salt` into an output of `output_len` bytes, in the
/// instance's reused working memory when it is free and of the right size (a
/// concurrent hash, or other parameters, get memory of their own).
fn digest(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
) -> argon2::password_hash::Result<Output> {
    let blocks_needed = argon2.params().block_count();
    let mut blocks = MEMORY
        .lock()
        .ok()
        .and_then(|mut kept| kept.take())
        .filter(|blocks| blocks.len() == blocks_needed)
        .unwrap_or_else(|| vec![Block::default(); blocks_needed]);
    let output = Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut blocks)?)
    });
    if let Ok(mut kept) = MEMORY.lock() {
        *kept = Some(blocks);
    }
    output
}

/// A PHC-format argon2id hash of the password.
pub async fn hash(password: &Password) -> Result<String, ApiError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        // 16 bytes from the OS generator (uuid v4 draws them from getrandom).
        let salt_bytes = *uuid::Uuid::new_v4().as_bytes();
        let salt = SaltString::encode_b64(&salt_bytes)?;
        let params = params();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let output = digest(&argon2, password.as_bytes(), &salt_bytes, Params::DEFAULT_OUTPUT_LEN)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok::<_, argon2::password_hash::Error>(phc.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(format!("password hashing task: {e}")))?
    .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `stored`, as `PasswordVerifier` decides
/// it (its algorithm, version, parameters and salt; a constant-time comparison of the
/// outputs), with the reused working memory.
fn matches(password: &[u8], stored: &str) -> argon2::password_hash::Result<bool> {
    let parsed = PasswordHash::new(stored)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(argon2::password_hash::Error::PhcStringField);
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let argon2 = Argon2::new(algorithm, version, Params::try_from(&parsed)?);
    // `Output`'s equality is constant-time.
    Ok(digest(&argon2, password, salt, expected.len())? == expected)
}

/// Whether the password matches the stored hash; `None` verifies the dummy hash
/// (and always answers false) so that the cost is the same.
pub async fn verify(password: &Password, stored_hash: Option<String>) -> Result<bool, ApiError> {
    let password = password.expose().to_owned();
    let known = stored_hash.is_some();
    let stored = stored_hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
    tokio::task::spawn_blocking(move || {
        let matches = matches(password.as_bytes(), &stored)
            .map_err(|e| ApiError::internal(format!("stored hash unreadable: {e}")))?;
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

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let password = Password::parse("correct horse".into()).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        // Made by the crate (as every stored hash was before the working memory was reused).
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = reference.hash_password(b"correct horse", &salt).unwrap().to_string();
        assert!(verify(&password, Some(theirs.clone())).await.unwrap());
        // Ours, checked by the crate.
        let ours = hash(&password).await.unwrap();
        assert!(reference
            .verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap())
            .is_ok());
        // The same salt gives the same hash both ways.
        let salt_bytes = b"0123456789abcdef";
        let output = digest(&reference, b"correct horse", salt_bytes, 32).unwrap();
        assert_eq!(Some(output), PasswordHash::new(&theirs).unwrap().hash);
    }

    #[tokio::test]
    async fn hashes_of_other_parameters_and_concurrent_verifications_get_memory_of_their_own() {
        use argon2::password_hash::PasswordHasher;
        let password = Password::parse("correct horse".into()).unwrap();
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"another-salt-16b").unwrap();
        let other = small.hash_password(b"correct horse", &salt).unwrap().to_string();
        let ours = hash(&password).await.unwrap();
        let wrong = Password::parse("wrong horse".into()).unwrap();
        let (a, b, c, d) = tokio::join!(
            verify(&password, Some(ours.clone())),
            verify(&password, Some(other.clone())),
            verify(&wrong, Some(ours.clone())),
            verify(&wrong, Some(other.clone())),
        );
        assert_eq!(
            (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()),
            (true, true, false, false)
        );
    }
}
