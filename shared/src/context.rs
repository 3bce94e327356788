//! What a function builds once per Lambda instance and reuses across invocations.

use crate::config::{ConfigError, Settings};
use crate::keys::KeySet;
use crate::redis_client::RedisClient;
use crate::tokens::Tokens;
use crate::whitelist::Whitelist;

/// Keys and tokens only, no Redis: for the functions that publish keys or verify
/// id tokens from them (jwks, me).
pub struct KeyContext {
    pub issuer: String,
    pub tokens: Tokens,
}

impl KeyContext {
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let keys = KeySet::from_json(&settings.keys_json)?;
        Ok(KeyContext {
            issuer: settings.issuer.clone(),
            tokens: Tokens::new(settings, keys),
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(&Settings::from_env().await?)
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
        let whitelist = Whitelist::new(&settings, RedisClient::new(&settings.redis)?);
        Ok(SessionContext {
            settings,
            tokens,
            whitelist,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(Settings::from_env().await?)
    }

    /// For the functions that sign id tokens: imports the signing key at start-up
    /// (the others never import the private key; they verify with its public half).
    pub fn ready_to_sign(self) -> Result<Self, ConfigError> {
        self.tokens.ready_to_sign()?;
        Ok(self)
    }
}

/// The session context plus the user store: for sign-up and sign-in only.
#[cfg(feature = "users")]
pub struct AccountContext {
    pub sessions: SessionContext,
    pub users: crate::users::UserStore,
    pub limiter: crate::whitelist::SignInLimiter,
}

#[cfg(feature = "users")]
impl AccountContext {
    pub async fn new(settings: Settings) -> Result<Self, ConfigError> {
        let users = crate::users::UserStore::new(&settings.dynamodb)?;
        let limiter = crate::whitelist::SignInLimiter::new(&settings);
        Ok(AccountContext {
            sessions: SessionContext::new(settings)?.ready_to_sign()?,
            users,
            limiter,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(Settings::from_env().await?).await
    }
}
