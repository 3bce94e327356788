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
//!   ]
//! }
//! ```
//! `alg` is `RS256` (default), `ES256` or `EdDSA`.

use std::collections::HashMap;

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
    /// For RS256: the key pair, imported once. jsonwebtoken would import (and check)
    /// the private key again inside every signature, about half of its cost.
    pub rsa_key_pair: Option<aws_lc_rs::signature::RsaKeyPair>,
}

/// The public JWK and verifying key of an RSA key pair, from the imported pair
/// (so the private key is parsed once).
fn rsa_public_parts(pair: &aws_lc_rs::signature::RsaKeyPair) -> Result<(DecodingKey, Jwk), jsonwebtoken::errors::Error> {
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    use jsonwebtoken::jwk::{AlgorithmParameters, CommonParameters, RSAKeyParameters, RSAKeyType};
    let public = pair.public_key();
    let (n, e) = (public.modulus().big_endian_without_leading_zero(), public.exponent().big_endian_without_leading_zero());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters { key_type: RSAKeyType::RSA, n: b64.encode(n), e: b64.encode(e) }),
    };
    Ok((DecodingKey::from_rsa_raw_components(n, e), jwk))
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
}

fn parse_algorithm(alg: &str) -> Result<Algorithm, ConfigError> {
    match alg {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(ConfigError(format!("unsupported id-token algorithm {other:?} (RS256, ES256 or EdDSA)"))),
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
            ConfigError(format!("the key document is not valid (line {}, column {})", e.line(), e.column()))
        })?;

        let mut id_verifying = HashMap::new();
        let mut id_signing = None;
        for (index, entry) in document.id_token_keys.iter().enumerate() {
            let algorithm = parse_algorithm(&entry.alg)?;
            let bad_key = |what: &str| ConfigError(format!("id-token key {:?}: {what}", entry.kid));
            let (decoding, mut jwk) = match (&entry.private_key_pem, &entry.public_key_pem) {
                (Some(private_pem), _) => {
                    let encoding = encoding_key(algorithm, private_pem).map_err(|_| bad_key("unreadable private key"))?;
                    let (rsa_key_pair, decoding, jwk) = if algorithm == Algorithm::RS256 {
                        let pair = aws_lc_rs::signature::RsaKeyPair::from_der(encoding.as_bytes())
                            .map_err(|_| bad_key("unreadable RSA private key"))?;
                        let (decoding, jwk) = rsa_public_parts(&pair).map_err(|_| bad_key("unusable public key"))?;
                        (Some(pair), decoding, jwk)
                    } else {
                        let jwk = Jwk::from_encoding_key(&encoding, algorithm).map_err(|_| bad_key("unreadable private key"))?;
                        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| bad_key("unusable public key"))?;
                        (None, decoding, jwk)
                    };
                    if index == 0 {
                        id_signing = Some(SigningKey { kid: entry.kid.clone(), algorithm, encoding, rsa_key_pair });
                    }
                    (decoding, jwk)
                }
                (None, Some(public_pem)) => {
                    let decoding = decoding_key(algorithm, public_pem).map_err(|_| bad_key("unreadable public key"))?;
                    let jwk = Jwk::from_decoding_key(&decoding, Some(algorithm)).map_err(|_| bad_key("unreadable public key"))?;
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
            if id_verifying.insert(entry.kid.clone(), VerifyingKey { algorithm, decoding, jwk }).is_some() {
                return Err(bad_key("kid used twice"));
            }
        }
        let id_signing = id_signing
            .ok_or_else(|| ConfigError("the first of idTokenKeys must have a privateKeyPem: it signs".into()))?;

        let mut refresh_secrets = HashMap::new();
        for entry in &document.refresh_secrets {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(entry.secret.trim())
                .map_err(|_| ConfigError(format!("refresh secret {:?} is not base64", entry.kid)))?;
            if bytes.len() < MIN_SECRET_BYTES {
                return Err(ConfigError(format!("refresh secret {:?} must be at least 32 bytes", entry.kid)));
            }
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
        let keys = document.id_token_keys.iter().map(|e| id_verifying[&e.kid].jwk.clone()).collect();
        let jwks = serde_json::to_value(JwkSet { keys }).map_err(|e| ConfigError(format!("JWKS: {e}")))?;

        Ok(KeySet { id_signing, id_verifying, refresh_signing_kid, refresh_secrets, jwks })
    }
}
