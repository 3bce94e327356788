//! The refresh-token whitelist in Redis.
//!
//! Layout, all under the user's hash tag so every operation is one atomic script
//! in one cluster slot:
//! - `sess:{<user id>}`: ZSET of the user's session ids, scored by last use (ms);
//! - `sess:{<user id>}:<session id>`: HASH of one session: current `jti`, `iat`,
//!   `exp` and secret `kid` of its refresh token, the previous `jti` and rotation
//!   time (for the grace window), `created`, `used`, absolute expiry `abs`, `email`,
//!   user agent `ua` and source `ip`. It expires with its refresh token.
//!
//! Redis holds no usable secret: tokens are re-minted from these values with the
//! HMAC secret, which only the functions have.

mod rate_limit;

pub use rate_limit::SignInLimiter;

use std::time::Duration;

use redis::{FromRedisValue, Script, Value};

use crate::config::Settings;
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::redis_client::RedisClient;
use crate::tokens::{RefreshClaims, RefreshGrant};

/// The Lua scripts, loaded once per instance (EVALSHA, with EVAL on first use).
struct Scripts {
    open_session: Script,
    rotate: Script,
    close_session: Script,
    revoke_all: Script,
    list_sessions: Script,
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            open_session: Script::new(include_str!("open_session.lua")),
            rotate: Script::new(include_str!("rotate.lua")),
            close_session: Script::new(include_str!("close_session.lua")),
            revoke_all: Script::new(include_str!("revoke_all.lua")),
            list_sessions: Script::new(include_str!("list_sessions.lua")),
        }
    }
}

pub fn index_key(user_id: &str) -> String {
    format!("sess:{{{user_id}}}")
}

pub fn session_key(user_id: &str, session_id: &str) -> String {
    format!("sess:{{{user_id}}}:{session_id}")
}

/// What a refresh achieved: both carry the grant to mint the pair from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This caller moved the session to a new jti.
    Rotated { grant: RefreshGrant, email: String },
    /// Another caller rotated this token moments ago; this one gets the same grant.
    Grace { grant: RefreshGrant, email: String },
}

/// A live session as `GET /sessions` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub session_id: String,
    pub created_ms: u64,
    pub last_used_ms: u64,
    pub user_agent: String,
    pub ip: String,
}

pub struct Whitelist {
    redis: RedisClient,
    scripts: Scripts,
    session_cap: u32,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    grace: Duration,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn string_at(values: &[Value], index: usize) -> Result<String, ApiError> {
    values
        .get(index)
        .and_then(|v| String::from_redis_value(v.clone()).ok())
        .ok_or_else(|| {
            tracing::error!(index, "unexpected reply from a whitelist script");
            ApiError::Internal
        })
}

fn number_at(values: &[Value], index: usize) -> Result<u64, ApiError> {
    string_at(values, index)?.parse().map_err(|_| {
        tracing::error!(index, "unexpected number from a whitelist script");
        ApiError::Internal
    })
}

impl Whitelist {
    pub fn new(settings: &Settings, redis: RedisClient) -> Self {
        Whitelist {
            redis,
            scripts: Scripts::new(),
            session_cap: settings.session_cap,
            refresh_ttl: settings.refresh_token_ttl,
            session_lifetime: settings.session_lifetime,
            grace: settings.refresh_grace,
        }
    }

    pub fn redis(&self) -> &RedisClient {
        &self.redis
    }

    /// Opens a session for a user who just proved who they are (sign-up, sign-in).
    pub async fn open_session(&self, user_id: &str, email: &str, client: &ClientInfo, kid: &str, now_ms: u64) -> Result<RefreshGrant, ApiError> {
        let abs_ms = now_ms + self.session_lifetime.as_millis() as u64;
        let expires_ms = (now_ms + self.refresh_ttl.as_millis() as u64).min(abs_ms);
        let grant = RefreshGrant {
            user_id: user_id.into(),
            session_id: new_id(),
            jti: new_id(),
            issued_at: now_ms / 1000,
            expires_at: expires_ms / 1000,
            kid: kid.into(),
        };
        let (index, session) = (index_key(user_id), session_key(user_id, &grant.session_id));
        let evicted: u64 = self
            .redis
            .run("open_session", |mut connection| {
                let mut invocation = self.scripts.open_session.key(&index);
                invocation
                    .key(&session)
                    .arg(&grant.session_id)
                    .arg(&grant.jti)
                    .arg(now_ms)
                    .arg(grant.issued_at)
                    .arg(grant.expires_at)
                    .arg(abs_ms)
                    .arg(self.session_cap)
                    .arg(kid)
                    .arg(email)
                    .arg(&client.user_agent)
                    .arg(&client.ip)
                    .arg(expires_ms);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        if evicted > 0 {
            tracing::info!(user_id, evicted, "session cap reached; least recently used sessions evicted");
        }
        Ok(grant)
    }

    /// Rotates the session of a verified refresh token (see `rotate.lua`).
    pub async fn rotate(&self, claims: &RefreshClaims, kid: &str, now_ms: u64) -> Result<Rotation, ApiError> {
        let (index, session) = (index_key(&claims.sub), session_key(&claims.sub, &claims.sid));
        let new_jti = new_id();
        let reply: Vec<Value> = self
            .redis
            .run("rotate", |mut connection| {
                let mut invocation = self.scripts.rotate.key(&index);
                invocation
                    .key(&session)
                    .arg(&claims.sid)
                    .arg(&claims.jti)
                    .arg(&new_jti)
                    .arg(now_ms)
                    .arg(self.refresh_ttl.as_secs())
                    .arg(self.grace.as_millis() as u64)
                    .arg(kid);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        let outcome = string_at(&reply, 0)?;
        let grant = |values: &[Value]| -> Result<(RefreshGrant, String), ApiError> {
            Ok((
                RefreshGrant {
                    user_id: claims.sub.clone(),
                    session_id: claims.sid.clone(),
                    jti: string_at(values, 1)?,
                    issued_at: number_at(values, 2)?,
                    expires_at: number_at(values, 3)?,
                    kid: string_at(values, 4)?,
                },
                string_at(values, 5)?,
            ))
        };
        match outcome.as_str() {
            "rotated" => grant(&reply).map(|(grant, email)| Rotation::Rotated { grant, email }),
            "grace" => grant(&reply).map(|(grant, email)| Rotation::Grace { grant, email }),
            "reused" => {
                tracing::warn!(
                    security_event = "refresh_token_reuse",
                    user_id = %claims.sub,
                    session_id = %claims.sid,
                    "rotated-out refresh token presented after the grace window; session revoked"
                );
                Err(ApiError::InvalidToken)
            }
            _ => Err(ApiError::InvalidToken),
        }
    }

    /// Removes one session; `false` if it was already gone.
    pub async fn close_session(&self, user_id: &str, session_id: &str) -> Result<bool, ApiError> {
        let (index, session) = (index_key(user_id), session_key(user_id, session_id));
        let existed: u64 = self
            .redis
            .run("close_session", |mut connection| {
                let mut invocation = self.scripts.close_session.key(&index);
                invocation.key(&session).arg(session_id);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        Ok(existed == 1)
    }

    /// Removes every session of the user in one round trip; returns how many were live.
    pub async fn revoke_all(&self, user_id: &str) -> Result<u64, ApiError> {
        let index = index_key(user_id);
        let removed: u64 = self
            .redis
            .run("revoke_all", |mut connection| {
                let invocation = self.scripts.revoke_all.key(&index);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        tracing::warn!(security_event = "revoke_all", user_id, sessions = removed, "every session of the user revoked");
        Ok(removed)
    }

    pub async fn list_sessions(&self, user_id: &str) -> Result<Vec<SessionInfo>, ApiError> {
        let index = index_key(user_id);
        let flat: Vec<Value> = self
            .redis
            .run("list_sessions", |mut connection| {
                let invocation = self.scripts.list_sessions.key(&index);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        flat.chunks(5)
            .map(|row| {
                Ok(SessionInfo {
                    session_id: string_at(row, 0)?,
                    created_ms: number_at(row, 1)?,
                    last_used_ms: number_at(row, 2)?,
                    user_agent: string_at(row, 3)?,
                    ip: string_at(row, 4)?,
                })
            })
            .collect()
    }

    /// Whether a session is still live: one EXISTS.
    pub async fn is_live(&self, user_id: &str, session_id: &str) -> Result<bool, ApiError> {
        let session = session_key(user_id, session_id);
        self.redis
            .run("is_live", |mut connection| {
                let session = session.clone();
                async move { redis::cmd("EXISTS").arg(session).query_async(&mut connection).await }
            })
            .await
    }
}
