//! What a function builds once per Lambda instance and reuses across invocations.

use crate::browser::AllowedOrigins;
use crate::config::{environment, AwsSettings, ConfigError, Lookup, Settings};
use crate::keys::KeySet;
use crate::redis_client::RedisClient;
use crate::tokens::Tokens;
use crate::whitelist::Whitelist;

/// The key document (JSON) from `AUTH_KEYS`, the file `AUTH_KEYS_FILE`, or (in AWS)
/// the Secrets Manager secret `AUTH_KEYS_SECRET_ARN`, fetched once, at start-up.
pub async fn load_key_document(lookup: &Lookup<'_>) -> Result<String, ConfigError> {
    match (
        lookup("AUTH_KEYS"),
        lookup("AUTH_KEYS_FILE"),
        lookup("AUTH_KEYS_SECRET_ARN"),
    ) {
        (Some(json), _, _) => Ok(json),
        (None, Some(path), _) => {
            std::fs::read_to_string(&path).map_err(|e| ConfigError(format!("AUTH_KEYS_FILE {path}: {e}")))
        }
        (None, None, Some(secret_id)) => {
            crate::secrets::fetch_key_document(&AwsSettings::from_lookup(lookup), &secret_id).await
        }
        (None, None, None) => Err(ConfigError(
            "one of AUTH_KEYS, AUTH_KEYS_FILE or AUTH_KEYS_SECRET_ARN must be set".into(),
        )),
    }
}

/// Every setting of a function, from its environment.
pub async fn settings_from_env() -> Result<Settings, ConfigError> {
    Settings::from_lookup(&environment, load_key_document(&environment).await?)
}

/// Keys and tokens only, no Redis: for the functions that publish keys or verify
/// id tokens from them (jwks, me).
pub struct KeyContext {
    pub issuer: String,
    pub tokens: Tokens,
    pub allowed_origins: Vec<String>,
}

impl KeyContext {
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let keys = KeySet::from_json(&settings.keys_json)?;
        Ok(KeyContext {
            issuer: settings.issuer.clone(),
            tokens: Tokens::new(settings, keys),
            allowed_origins: settings.allowed_origins.clone(),
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(&settings_from_env().await?)
    }
}

/// Keys, tokens and the whitelist: all that the session endpoints need.
pub struct SessionContext {
    pub settings: Settings,
    pub tokens: Tokens,
    pub whitelist: Whitelist,
}

impl SessionContext {
    /// Parses the keys once and prepares the Redis client; no network round trip.
    pub fn new(settings: Settings) -> Result<Self, ConfigError> {
        let keys = KeySet::from_json(&settings.keys_json)?;
        let tokens = Tokens::new(&settings, keys);
        let refresh_kids = tokens.keys().refresh_secrets.keys().map(String::as_str);
        let whitelist = Whitelist::new(&settings, refresh_kids, RedisClient::new(&settings.redis)?)?;
        Ok(SessionContext {
            settings,
            tokens,
            whitelist,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(settings_from_env().await?)
    }

    /// For the functions that sign id tokens: imports the signing key at start-up
    /// (the others never import the private key; they verify with its public half).
    pub fn ready_to_sign(self) -> Result<Self, ConfigError> {
        self.tokens.ready_to_sign()?;
        Ok(self)
    }
}

/// The session context plus the user store, the limits, the one-time codes and (with
/// the `mail` feature) the mailer: for the functions that act on accounts.
#[cfg(feature = "users")]
pub struct AccountContext {
    pub sessions: SessionContext,
    pub users: crate::users::UserStore,
    pub signin_limiter: crate::rate_limit::SignInLimiter,
    pub signup_limiter: crate::rate_limit::SignUpLimiter,
    pub code_limiter: crate::rate_limit::CodeLimiter,
    pub codes: crate::codes::Codes,
    pub mfa: crate::mfa::Mfa,
    #[cfg(feature = "mail")]
    pub mail: crate::mail::Mailer,
}

#[cfg(feature = "users")]
impl AccountContext {
    pub async fn new(settings: Settings) -> Result<Self, ConfigError> {
        // No id-token signing key here: of these functions only sign-in and sign-up sign,
        // and they import it beside their first password hash (`api::while_ready_to_sign`).
        let sessions = SessionContext::new(settings)?;
        let settings = &sessions.settings;
        Ok(AccountContext {
            users: crate::users::UserStore::new(&settings.dynamodb, &settings.aws)?,
            signin_limiter: crate::rate_limit::SignInLimiter::new(settings),
            signup_limiter: crate::rate_limit::SignUpLimiter::new(settings),
            code_limiter: crate::rate_limit::CodeLimiter::new(settings),
            #[cfg(feature = "mail")]
            mail: crate::mail::Mailer::new(settings)?,
            codes: crate::codes::Codes::new(sessions.tokens.keys().code_keys[0].clone()),
            mfa: crate::mfa::Mfa::new(
                &sessions.tokens.keys().mfa_keys,
                sessions.tokens.keys().code_keys.clone(),
                &settings.issuer,
            )?,
            sessions,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(settings_from_env().await?).await
    }
}

// The browser origins every HTTP function's edge checks (`runtime::respond`).
impl AllowedOrigins for KeyContext {
    fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }
}

impl AllowedOrigins for SessionContext {
    fn allowed_origins(&self) -> &[String] {
        &self.settings.allowed_origins
    }
}

#[cfg(feature = "users")]
impl AllowedOrigins for AccountContext {
    fn allowed_origins(&self) -> &[String] {
        &self.sessions.settings.allowed_origins
    }
}
