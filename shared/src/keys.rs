//! Signing keys: the id-token key pairs (published as a JWKS) and the refresh-token
//! HMAC secrets. Several of each can be live at once; the first of each list signs,
//! every one verifies, so keys rotate without logging anyone out.
//!
//! The key document (`AUTH_KEYS`, or the file `AUTH_KEYS_FILE`; in AWS a Secrets
//! Manager secret) is JSON:
//!
//! ```json
//! {
//!   "idTokenKeys": [
//!     {"kid": "id-2026-11", "alg": "RS256", "privateKeyPem": "-----BEGIN PRIVATE KEY-----..."},
//!     {"kid": "id-2026-08", "alg": "RS256", "publicKeyPem": "-----BEGIN PUBLIC KEY-----..."}
//!   ],
//!   "refreshSecrets": [
//!     {"kid": "rt-2026-11", "secret": "<base64 of at least 32 random bytes>"}
//!   ],
//!   "codeSecret": "<base64 of at least 32 random bytes>",
//!   "mfaKeys": [{"kid": "mfa-2026-11", "secret": "<base64 of 32 random bytes>"}]
//! }
//! ```
//! `mfaKeys` (optional) encrypt TOTP secrets at rest (AES-256-GCM): the first
//! encrypts, every one decrypts, so they rotate; without them one key is derived from
//! each refresh secret (kid `derived-<its kid>`: keep a rotated-out refresh secret
//! listed while secrets sealed under it exist, or set `mfaKeys` before launch).
//! `codeSecret` (optional) keys the hashes of emailed one-time and MFA recovery
//! codes; without it keys are derived from the refresh secrets (the first one's is
//! current; emailed codes pending when it rotates are void, recovery codes stay
//! valid while the older secret is listed).
//! `alg` is `RS256` (default), `ES256` or `EdDSA`.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::Deserialize;

use crate::config::ConfigError;

/// Shortest refresh secret accepted (HS256 wants at least its output size).
const MIN_SECRET_BYTES: usize = 32;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyDocument {
    id_token_keys: Vec<IdKeyEntry>,
    refresh_secrets: Vec<SecretEntry>,
    code_secret: Option<String>,
    #[serde(default)]
    mfa_keys: Vec<SecretEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdKeyEntry {
    kid: String,
    #[serde(default = "default_alg")]
    alg: String,
    private_key_pem: Option<String>,
    public_key_pem: Option<String>,
}

fn default_alg() -> String {
    "RS256".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    kid: String,
    secret: String,
}

/// A key that verifies id tokens, with its public JWK.
pub struct VerifyingKey {
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
    pub jwk: Jwk,
}

/// The current id-token signing key.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    /// For RS256: the key pair, imported once, and only by the functions that sign
    /// (`rsa_key_pair`, called by `Tokens::ready_to_sign`: at start-up in refresh, beside the first password hash in sign-in and sign-up; about 0.3 ms). jsonwebtoken would import and check the
    /// private key again inside every signature, about half of its cost.
    rsa_key_pair: OnceLock<aws_lc_rs::signature::RsaKeyPair>,
}

impl SigningKey {
    /// The RS256 key pair, imported on first call; `None` for other algorithms.
    pub fn rsa_key_pair(&self) -> Result<Option<&aws_lc_rs::signature::RsaKeyPair>, ConfigError> {
        if self.algorithm != Algorithm::RS256 {
            return Ok(None);
        }
        if let Some(pair) = self.rsa_key_pair.get() {
            return Ok(Some(pair));
        }
        let pair = aws_lc_rs::signature::RsaKeyPair::from_der(self.encoding.as_bytes())
            .map_err(|_| ConfigError(format!("id-token key {:?}: unreadable RSA private key", self.kid)))?;
        Ok(Some(self.rsa_key_pair.get_or_init(|| pair)))
    }
}

/// The public half (n, e) of an RSA private key, read from its PKCS#1 DER
/// (`SEQUENCE { version, n, e, ... }`) without importing the key: the functions that
/// only verify never pay for the private half.
fn rsa_public_parts(pkcs1_der: &[u8]) -> Option<(DecodingKey, Jwk)> {
    use jsonwebtoken::jwk::{AlgorithmParameters, CommonParameters, RSAKeyParameters, RSAKeyType};
    use pkcs1::der::Decode;
    let key = pkcs1::RsaPrivateKeyRef::from_der(pkcs1_der).ok()?;
    // DER integers are minimal (`as_bytes` drops the sign byte): JWK wants exactly that.
    let (n, e) = (key.modulus.as_bytes().to_vec(), key.public_exponent.as_bytes().to_vec());
    if n.is_empty() || e.is_empty() {
        return None;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: b64.encode(&n),
            e: b64.encode(&e),
        }),
    };
    Some((DecodingKey::from_rsa_raw_components(&n, &e), jwk))
}

/// A refresh-token HMAC secret.
pub struct RefreshSecret {
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
}

/// Every key of the deployment, parsed once per Lambda instance.
pub struct KeySet {
    pub id_signing: SigningKey,
    pub id_verifying: HashMap<String, VerifyingKey>,
    /// kid of the secret that signs new refresh tokens.
    pub refresh_signing_kid: String,
    pub refresh_secrets: HashMap<String, RefreshSecret>,
    /// The JWKS document, serialized once.
    pub jwks: serde_json::Value,
    /// HMAC-SHA256 keys of the stored hashes of one-time and recovery codes; the
    /// first is current (never empty: one per refresh secret, or `codeSecret`).
    pub code_keys: Vec<aws_lc_rs::hmac::Key>,
    /// AES-256 keys of the TOTP secrets at rest, by kid; the first encrypts.
    pub mfa_keys: Vec<(String, Vec<u8>)>,
}

/// A secret of the key document: base64 of at least 32 bytes.
fn secret_bytes(what: &str, raw: &str) -> Result<Vec<u8>, ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| ConfigError(format!("{what} is not base64")))?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(ConfigError(format!("{what} must be at least 32 bytes")));
    }
    Ok(bytes)
}

fn parse_algorithm(alg: &str) -> Result<Algorithm, ConfigError> {
    match alg {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(ConfigError(format!(
            "unsupported id-token algorithm {other:?} (RS256, ES256 or EdDSA)"
        ))),
    }
}

fn encoding_key(algorithm: Algorithm, pem: &str) -> jsonwebtoken::errors::Result<EncodingKey> {
    match algorithm {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
}

fn decoding_key(algorithm: Algorithm, pem: &str) -> jsonwebtoken::errors::Result<DecodingKey> {
    match algorithm {
        Algorithm::ES256 => DecodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
        _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
    }
}

impl KeySet {
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        // serde's message may quote the document; report only where it failed.
        let document: KeyDocument = serde_json::from_str(json).map_err(|e| {
            ConfigError(format!(
                "the key document is not valid (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;

        let mut id_verifying = HashMap::new();
        let mut id_signing = None;
        for (index, entry) in document.id_token_keys.iter().enumerate() {
            let algorithm = parse_algorithm(&entry.alg)?;
            let bad_key = |what: &str| ConfigError(format!("id-token key {:?}: {what}", entry.kid));
            let (decoding, mut jwk) = match (&entry.private_key_pem, &entry.public_key_pem) {
                (Some(private_pem), _) => {
                    let encoding =
                        encoding_key(algorithm, private_pem).map_err(|_| bad_key("unreadable private key"))?;
                    let (decoding, jwk) = if algorithm == Algorithm::RS256 {
                        rsa_public_parts(encoding.as_bytes()).ok_or_else(|| bad_key("unreadable RSA private key"))?
                    } else {
                        let jwk = Jwk::from_encoding_key(&encoding, algorithm)
                            .map_err(|_| bad_key("unreadable private key"))?;
                        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| bad_key("unusable public key"))?;
                        (decoding, jwk)
                    };
                    if index == 0 {
                        let rsa_key_pair = OnceLock::new();
                        id_signing = Some(SigningKey {
                            kid: entry.kid.clone(),
                            algorithm,
                            encoding,
                            rsa_key_pair,
                        });
                    }
                    (decoding, jwk)
                }
                (None, Some(public_pem)) => {
                    let decoding = decoding_key(algorithm, public_pem).map_err(|_| bad_key("unreadable public key"))?;
                    let jwk = Jwk::from_decoding_key(&decoding, Some(algorithm))
                        .map_err(|_| bad_key("unreadable public key"))?;
                    (decoding, jwk)
                }
                (None, None) => return Err(bad_key("needs privateKeyPem or publicKeyPem")),
            };
            jwk.common.key_id = Some(entry.kid.clone());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            jwk.common.key_algorithm = Some(match algorithm {
                Algorithm::ES256 => KeyAlgorithm::ES256,
                Algorithm::EdDSA => KeyAlgorithm::EdDSA,
                _ => KeyAlgorithm::RS256,
            });
            if id_verifying
                .insert(
                    entry.kid.clone(),
                    VerifyingKey {
                        algorithm,
                        decoding,
                        jwk,
                    },
                )
                .is_some()
            {
                return Err(bad_key("kid used twice"));
            }
        }
        let id_signing = id_signing
            .ok_or_else(|| ConfigError("the first of idTokenKeys must have a privateKeyPem: it signs".into()))?;

        let mut refresh_secrets = HashMap::new();
        let mut code_keys = vec![];
        let mut mfa_keys = vec![];
        for entry in &document.refresh_secrets {
            let bytes = secret_bytes(&format!("refresh secret {:?}", entry.kid), &entry.secret)?;
            // Derived from every refresh secret, never the secret itself (a code hash or
            // a sealed TOTP secret can never help forge a token); the first secret's
            // keys are current, and the older ones keep what they made readable while
            // the secrets rotate.
            let derive = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &bytes);
            let derived = aws_lc_rs::hmac::sign(&derive, b"account-service one-time codes v1");
            code_keys.push(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                derived.as_ref(),
            ));
            let derived = aws_lc_rs::hmac::sign(&derive, b"account-service mfa secrets v1");
            mfa_keys.push((format!("derived-{}", entry.kid), derived.as_ref().to_vec()));
            let secret = RefreshSecret {
                encoding: EncodingKey::from_secret(&bytes),
                decoding: DecodingKey::from_secret(&bytes),
            };
            if refresh_secrets.insert(entry.kid.clone(), secret).is_some() {
                return Err(ConfigError(format!("refresh secret {:?} used twice", entry.kid)));
            }
        }
        let refresh_signing_kid = document
            .refresh_secrets
            .first()
            .map(|entry| entry.kid.clone())
            .ok_or_else(|| ConfigError("refreshSecrets must hold at least one secret".into()))?;

        // Published in the document's order: the signing key first.
        let keys = document
            .id_token_keys
            .iter()
            .map(|e| id_verifying[&e.kid].jwk.clone())
            .collect();
        let jwks = serde_json::to_value(JwkSet { keys }).map_err(|e| ConfigError(format!("JWKS: {e}")))?;

        if let Some(secret) = &document.code_secret {
            let key = secret_bytes("codeSecret", secret)?;
            code_keys = vec![aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key)];
        }
        if !document.mfa_keys.is_empty() {
            mfa_keys = document
                .mfa_keys
                .iter()
                .map(|entry| {
                    let key = secret_bytes(&format!("mfa key {:?}", entry.kid), &entry.secret)?;
                    if key.len() != 32 {
                        return Err(ConfigError(format!(
                            "mfa key {:?} must be 32 bytes (AES-256)",
                            entry.kid
                        )));
                    }
                    Ok((entry.kid.clone(), key))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(KeySet {
            id_signing,
            id_verifying,
            refresh_signing_kid,
            refresh_secrets,
            jwks,
            code_keys,
            mfa_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;

    fn pem(label: &str, der: &[u8]) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
    }

    fn document(private_pem: &str) -> String {
        serde_json::json!({
            "idTokenKeys": [{"kid": "id-1", "privateKeyPem": private_pem}],
            "refreshSecrets": [{"kid": "rt-1", "secret": base64::engine::general_purpose::STANDARD.encode([7u8; 32])}],
        })
        .to_string()
    }

    #[test]
    fn the_published_rsa_key_is_the_public_half_of_the_signing_key_without_importing_it() {
        let pair = aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let keys = KeySet::from_json(&document(&pem("PRIVATE KEY", pair.as_der().unwrap().as_ref()))).unwrap();
        assert!(
            keys.id_signing.rsa_key_pair.get().is_none(),
            "parsing the document does not import the private key"
        );

        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let public = pair.public_key();
        let jwk = &keys.jwks["keys"][0];
        assert_eq!(jwk["n"], b64.encode(public.modulus().big_endian_without_leading_zero()));
        assert_eq!(
            jwk["e"],
            b64.encode(public.exponent().big_endian_without_leading_zero())
        );
        let imported = keys.id_signing.rsa_key_pair().unwrap().unwrap();
        assert_eq!(imported.public_key().as_ref(), public.as_ref());
    }

    #[test]
    fn a_damaged_rsa_private_key_is_refused() {
        let pair = aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = pair.as_der().unwrap().as_ref().to_vec();
        // Truncated: not even n and e can be read.
        assert!(KeySet::from_json(&document(&pem("PRIVATE KEY", &der[..40]))).is_err());
        // Intact structure, a damaged prime (the middle of the DER): n and e still read,
        // so only the import (which the signing functions do at start-up) refuses it.
        let mut damaged = der.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0xff;
        let keys = KeySet::from_json(&document(&pem("PRIVATE KEY", &damaged))).expect("n and e are intact");
        assert!(keys.id_signing.rsa_key_pair().is_err());
    }

    #[test]
    fn derived_mfa_and_code_keys_survive_a_refresh_secret_rotation() {
        let pair = aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let private_pem = pem("PRIVATE KEY", pair.as_der().unwrap().as_ref());
        let b64 = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        let with_secrets = |secrets: serde_json::Value| {
            let document = serde_json::json!({
                "idTokenKeys": [{"kid": "id-1", "privateKeyPem": private_pem}],
                "refreshSecrets": secrets,
            });
            KeySet::from_json(&document.to_string()).unwrap()
        };
        let before = with_secrets(serde_json::json!([{"kid": "rt-1", "secret": b64(7)}]));
        let after =
            with_secrets(serde_json::json!([{"kid": "rt-2", "secret": b64(8)}, {"kid": "rt-1", "secret": b64(7)}]));
        // The old key is still there under its kid, so sealed secrets stay readable.
        assert_eq!(before.mfa_keys[0].0, "derived-rt-1");
        assert_eq!(after.mfa_keys[0].0, "derived-rt-2", "the new one seals");
        assert_eq!(after.mfa_keys[1], before.mfa_keys[0]);
        let tag = |key: &aws_lc_rs::hmac::Key| aws_lc_rs::hmac::sign(key, b"x").as_ref().to_vec();
        assert_eq!(tag(&after.code_keys[1]), tag(&before.code_keys[0]));
        assert_ne!(tag(&after.code_keys[0]), tag(&before.code_keys[0]));
    }
}
