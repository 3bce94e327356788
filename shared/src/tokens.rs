//! Id tokens (asymmetric, verifiable from the JWKS) and refresh tokens (HMAC).
//!
//! The two types cannot be confused: id tokens are RS256/ES256/EdDSA with the
//! configured audience, refresh tokens are HS256 with the token endpoint
//! (`{issuer}/tokens`) as audience, and each verifier accepts only its own
//! algorithm, keys and audience.

use jsonwebtoken::{decode, decode_header, encode, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Settings};
use crate::error::ApiError;
use crate::keys::KeySet;

/// Longer tokens are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated between Lambda instances.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    pub email: String,
    /// Whether the user proved to own `email` (a code sent to it came back).
    #[serde(default)]
    pub email_verified: bool,
    /// How the session was opened: `["pwd"]`, or `["pwd", "otp"]` with a second factor.
    #[serde(default)]
    pub amr: Vec<String>,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// What an id token states about its user besides the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub email: String,
    pub email_verified: bool,
    /// The session was opened with a password and a second factor: `amr` says so.
    pub signed_in_with_otp: bool,
}

impl Identity {
    /// The id token's `amr` (RFC 8176 values).
    pub fn amr(&self) -> Vec<String> {
        let mut amr = vec!["pwd".to_string()];
        if self.signed_in_with_otp {
            amr.push("otp".into());
        }
        amr
    }
}

/// Field order is part of the contract: the grace window re-mints a refresh token
/// byte for byte from these values, so serialization must be deterministic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefreshClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    pub jti: String,
    pub iat: u64,
    pub exp: u64,
}

/// A freshly issued pair, as the contract's `{"tokens": {...}}` returns it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub id_token: String,
    pub refresh_token: String,
}

/// What a refresh token is minted from; the whitelist stores exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    pub user_id: String,
    pub session_id: String,
    pub jti: String,
    pub issued_at: u64,
    pub expires_at: u64,
    /// kid of the HMAC secret that signs it.
    pub kid: String,
}

pub struct Tokens {
    keys: KeySet,
    issuer: String,
    audience: String,
    refresh_audience: String,
    id_token_ttl_secs: u64,
}

impl Tokens {
    pub fn new(settings: &Settings, keys: KeySet) -> Self {
        Tokens {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            refresh_audience: format!("{}/tokens", settings.issuer.trim_end_matches('/')),
            id_token_ttl_secs: settings.id_token_ttl.as_secs(),
        }
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Imports the id-token signing key now, once: refresh does it at start-up, so that
    /// an unusable key fails the instance's initialization; sign-in and sign-up beside
    /// their first password hash (`api::while_ready_to_sign`), where a key that AWS-LC
    /// refuses fails that request (500, cause logged). A key that does not even parse
    /// fails every function's start-up (`KeySet::from_json`).
    pub fn ready_to_sign(&self) -> Result<(), ConfigError> {
        self.keys.id_signing.rsa_key_pair().map(|_| ())
    }

    /// kid of the secret new refresh tokens are signed with.
    pub fn refresh_kid(&self) -> &str {
        &self.keys.refresh_signing_kid
    }

    pub fn mint_id_token(
        &self,
        user_id: &str,
        session_id: &str,
        identity: &Identity,
        now_secs: u64,
    ) -> Result<String, ApiError> {
        let claims = IdClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.into(),
            sid: session_id.into(),
            email: identity.email.clone(),
            email_verified: identity.email_verified,
            amr: identity.amr(),
            iat: now_secs,
            exp: now_secs + self.id_token_ttl_secs,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let signing = &self.keys.id_signing;
        let mut header = Header::new(signing.algorithm);
        header.kid = Some(signing.kid.clone());
        let signed = signing
            .rsa_key_pair()
            .map_err(|e| e.to_string())
            .and_then(|pair| match pair {
                Some(pair) => sign_rs256(pair, &header, &claims),
                None => encode(&header, &claims, &signing.encoding).map_err(|e| e.to_string()),
            });
        signed.map_err(|e| ApiError::internal(format!("id token signing failed: {e}")))
    }

    /// Deterministic: the same grant always gives the same token string.
    pub fn mint_refresh_token(&self, grant: &RefreshGrant) -> Result<String, ApiError> {
        let secret = self.keys.refresh_secrets.get(&grant.kid).ok_or_else(|| {
            tracing::error!(kid = %grant.kid, "refresh secret of a live session is no longer configured");
            ApiError::InvalidToken
        })?;
        let claims = RefreshClaims {
            iss: self.issuer.clone(),
            aud: self.refresh_audience.clone(),
            sub: grant.user_id.clone(),
            sid: grant.session_id.clone(),
            jti: grant.jti.clone(),
            iat: grant.issued_at,
            exp: grant.expires_at,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(grant.kid.clone());
        encode(&header, &claims, &secret.encoding)
            .map_err(|e| ApiError::internal(format!("refresh token signing failed: {e}")))
    }

    pub fn pair(&self, grant: &RefreshGrant, identity: &Identity, now_secs: u64) -> Result<TokenPair, ApiError> {
        Ok(TokenPair {
            id_token: self.mint_id_token(&grant.user_id, &grant.session_id, identity, now_secs)?,
            refresh_token: self.mint_refresh_token(grant)?,
        })
    }

    fn validation(&self, algorithm: Algorithm, audience: &str) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        // jsonwebtoken does not check `nbf` unless asked; a not-yet-valid token is invalid.
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation
    }

    /// A valid, unexpired id token of this issuer, signed by one of the configured keys.
    pub fn verify_id_token(&self, token: &str, now_secs: u64) -> Result<IdClaims, ApiError> {
        let kid = header_kid(token)?;
        let key = self.keys.id_verifying.get(&kid).ok_or(ApiError::InvalidToken)?;
        let claims = decode::<IdClaims>(token, &key.decoding, &self.validation(key.algorithm, &self.audience))
            .map_err(|_| ApiError::InvalidToken)?
            .claims;
        reject_future_iat(claims.iat, now_secs)?;
        Ok(claims)
    }

    /// A valid, unexpired refresh token. Whether it is still worth anything is the
    /// whitelist's decision.
    pub fn verify_refresh_token(&self, token: &str, now_secs: u64) -> Result<RefreshClaims, ApiError> {
        let kid = header_kid(token)?;
        let secret = self.keys.refresh_secrets.get(&kid).ok_or(ApiError::InvalidToken)?;
        let claims = decode::<RefreshClaims>(
            token,
            &secret.decoding,
            &self.validation(Algorithm::HS256, &self.refresh_audience),
        )
        .map_err(|_| ApiError::InvalidToken)?
        .claims;
        reject_future_iat(claims.iat, now_secs)?;
        Ok(claims)
    }
}

/// A compact JWS exactly as `jsonwebtoken::encode` builds it, signed with a key pair
/// imported once (`base64url(header).base64url(claims).base64url(signature)`).
fn sign_rs256(pair: &aws_lc_rs::signature::RsaKeyPair, header: &Header, claims: &IdClaims) -> Result<String, String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = serde_json::to_vec(header).map_err(|e| e.to_string())?;
    let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let message = format!("{}.{}", b64.encode(header), b64.encode(claims));
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "RSA signature failed".to_string())?;
    Ok(format!("{message}.{}", b64.encode(signature)))
}

fn header_kid(token: &str) -> Result<String, ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::InvalidToken);
    }
    decode_header(token)
        .ok()
        .and_then(|h| h.kid)
        .ok_or(ApiError::InvalidToken)
}

/// jsonwebtoken checks `exp` (and `nbf` when asked) but not a token issued in the future.
fn reject_future_iat(iat: u64, now_secs: u64) -> Result<(), ApiError> {
    if iat > now_secs + LEEWAY_SECS {
        Err(ApiError::InvalidToken)
    } else {
        Ok(())
    }
}
