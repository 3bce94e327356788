//! The refresh-token whitelist in Redis.
//!
//! A user's whole whitelist is one hash, `sess:{<user id>}` (the hash tag keeps
//! whatever else a script may touch in the same cluster slot), so every operation is
//! one atomic script on one key (layout and record format in `session_record.lua`,
//! which every session script starts with): the user's email, whether it is verified,
//! the change marker, and one record of at most 64 bytes per session (current and
//! previous token id, created, last used, token expiry, a tag of the secret's kid,
//! flags, the device label's code, the source address), so that Redis keeps the
//! hash in its compact listpack encoding.
//!
//! The key expires when the user's last session does.
//!
//! Redis holds no usable secret: tokens are re-minted from these values with the
//! HMAC secret, which only the functions have.

mod record;

pub use record::{id_bytes, id_string, kid_tag, SessionRecord, PREVIOUS_JTI_BYTES};

use std::time::Duration;

use redis::{FromRedisValue, Script, ScriptInvocation, Value};

use crate::client::ClientInfo;
use crate::config::{ConfigError, Settings};
use crate::error::ApiError;
use crate::redis_client::{LazyScript, RedisClient};
use crate::tokens::{Identity, RefreshClaims, RefreshGrant};

/// The Lua scripts, loaded once per instance (EVALSHA, with EVAL on first use).
struct Scripts {
    open_session: LazyScript,
    rotate: LazyScript,
    close_session: LazyScript,
    revoke_all: LazyScript,
    revoke_others: LazyScript,
    set_identity: LazyScript,
    list_sessions: LazyScript,
}

/// Each session script is `session_record.lua` (the layout and its helpers) followed
/// by its own body.
macro_rules! session_script {
    ($file:literal) => {
        LazyScript::new(concat!(include_str!("session_record.lua"), "\n", include_str!($file)))
    };
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            open_session: session_script!("open_session.lua"),
            rotate: session_script!("rotate.lua"),
            close_session: session_script!("close_session.lua"),
            revoke_all: session_script!("revoke_all.lua"),
            revoke_others: session_script!("revoke_others.lua"),
            set_identity: session_script!("set_identity.lua"),
            list_sessions: session_script!("list_sessions.lua"),
        }
    }
}

/// The user's whole whitelist: the hash of the session records (and email).
pub fn sessions_key(user_id: &str) -> String {
    format!("sess:{{{user_id}}}")
}

/// A token's session or token id as Redis keeps it; anything we did not mint is an
/// invalid token.
fn id_of(id: &str) -> Result<[u8; 16], ApiError> {
    id_bytes(id).ok_or(ApiError::InvalidToken)
}

/// What a refresh achieved: both carry the grant to mint the pair from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This caller moved the session to a new jti.
    Rotated { grant: RefreshGrant, identity: Identity },
    /// Another caller rotated this token moments ago; this one gets the same grant.
    Grace { grant: RefreshGrant, identity: Identity },
}

/// Who opens a session (sign-up, sign-in), and when the proof of it (a password
/// hash, a user record) was read.
#[derive(Debug, Clone, Copy)]
pub struct Opener<'a> {
    pub user_id: &'a str,
    pub identity: &'a Identity,
    pub proof_read_ms: u64,
}

/// A live session as `GET /sessions` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub session_id: String,
    pub created_ms: u64,
    pub last_used_ms: u64,
    /// The label of the device that opened it ("Chrome 131, macOS"; `device.rs`).
    pub device: String,
    /// The address that used it last (its last refresh, or its opening); "unknown"
    /// when the edge gave none.
    pub ip: String,
}

pub struct Whitelist {
    redis: RedisClient,
    scripts: Scripts,
    session_cap: u32,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    grace: Duration,
    /// A rotation that Redis runs later than this after it was sent changes nothing
    /// (the caller has answered 503 by then; see `rotate.lua`).
    rotation_deadline: Duration,
    /// The kids of the refresh secrets this function holds, by the tag records keep.
    kids: Vec<([u8; 4], String)>,
}

fn new_id() -> ([u8; 16], String) {
    let id = uuid::Uuid::new_v4();
    (*id.as_bytes(), id.simple().to_string())
}

/// A rotated-out refresh token came back: the session was revoked; logged as theft.
fn log_reuse(user_id: &str, session_id: &str, endpoint: &'static str) {
    crate::metrics::count(crate::metrics::Metric::ReuseDetected);
    tracing::warn!(
        security_event = "refresh_token_reuse",
        user_id,
        session_id,
        endpoint,
        "rotated-out refresh token presented after the grace window; session revoked"
    );
}

fn unexpected_reply(index: usize) -> ApiError {
    ApiError::internal(format!("unexpected reply from a whitelist script at index {index}"))
}

fn bytes_at(values: &[Value], index: usize) -> Result<Vec<u8>, ApiError> {
    values
        .get(index)
        .and_then(|v| Vec::<u8>::from_redis_value(v.clone()).ok())
        .ok_or_else(|| unexpected_reply(index))
}

fn id_at(values: &[Value], index: usize) -> Result<String, ApiError> {
    id_string(&bytes_at(values, index)?).ok_or_else(|| unexpected_reply(index))
}

fn string_at(values: &[Value], index: usize) -> Result<String, ApiError> {
    values
        .get(index)
        .and_then(|v| String::from_redis_value(v.clone()).ok())
        .ok_or_else(|| unexpected_reply(index))
}

fn number_at(values: &[Value], index: usize) -> Result<u64, ApiError> {
    values
        .get(index)
        .and_then(|v| u64::from_redis_value(v.clone()).ok())
        .ok_or_else(|| unexpected_reply(index))
}

/// Each refresh kid with its tag; refused if two kids share one (a grace reply could
/// not tell which secret re-mints the token).
fn kids_by_tag<'k>(refresh_kids: impl IntoIterator<Item = &'k str>) -> Result<Vec<([u8; 4], String)>, ConfigError> {
    let mut kids: Vec<([u8; 4], String)> = Vec::new();
    for kid in refresh_kids {
        let tag = kid_tag(kid);
        if let Some((_, other)) = kids.iter().find(|(t, _)| *t == tag) {
            return Err(ConfigError(format!(
                "refresh secrets {other:?} and {kid:?}: their kids share a whitelist tag; rename one"
            )));
        }
        kids.push((tag, kid.to_string()));
    }
    Ok(kids)
}

impl Whitelist {
    /// `refresh_kids`: the kids of every refresh secret of the key document (a record
    /// keeps only a 4-byte tag of its kid). Refused if two of them share a tag.
    pub fn new<'k>(
        settings: &Settings,
        refresh_kids: impl IntoIterator<Item = &'k str>,
        redis: RedisClient,
    ) -> Result<Self, ConfigError> {
        let kids = kids_by_tag(refresh_kids)?;
        Ok(Whitelist {
            redis,
            scripts: Scripts::new(),
            session_cap: settings.session_cap,
            refresh_ttl: settings.refresh_token_ttl,
            session_lifetime: settings.session_lifetime,
            grace: settings.refresh_grace,
            // Half the response timeout: the reply of a script that ran in time still
            // has the other half to arrive before the client gives up on it.
            rotation_deadline: settings.redis.response_timeout / 2,
            kids,
        })
    }

    /// The kid a record's tag stands for, among the secrets this function holds.
    fn kid_of(&self, tag: &[u8]) -> Result<String, ApiError> {
        self.kids
            .iter()
            .find(|(t, _)| t[..] == *tag)
            .map(|(_, kid)| kid.clone())
            .ok_or_else(|| {
                tracing::error!("refresh secret of a live session is no longer configured");
                ApiError::internal("a session's refresh secret is no longer configured")
            })
    }

    pub fn redis(&self) -> &RedisClient {
        &self.redis
    }

    /// Runs one session script on the user's key; `args` appends its ARGV.
    async fn run_script<T: FromRedisValue>(
        &self,
        operation: &'static str,
        script: &Script,
        user_id: &str,
        args: impl Fn(&mut ScriptInvocation<'_>),
    ) -> Result<T, ApiError> {
        self.redis
            .run(operation, |mut connection| {
                let mut invocation = script.key(sessions_key(user_id));
                args(&mut invocation);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
    }

    /// Opens a session for a user who just proved who they are (sign-up, sign-in).
    /// 401 (the bad-credentials answer) if the user's credentials or sessions changed
    /// after the proof was read: a sign-in that raced a password change, a disable or
    /// a deletion opens nothing.
    pub async fn open_session(
        &self,
        opener: &Opener<'_>,
        client: &ClientInfo,
        kid: &str,
        now_ms: u64,
    ) -> Result<RefreshGrant, ApiError> {
        let Opener {
            user_id,
            identity,
            proof_read_ms,
        } = *opener;
        let abs_ms = now_ms + self.session_lifetime.as_millis() as u64;
        let expires_ms = (now_ms + self.refresh_ttl.as_millis() as u64).min(abs_ms);
        let ((sid, session_id), (jti, jti_string)) = (new_id(), new_id());
        let grant = RefreshGrant {
            user_id: user_id.into(),
            session_id,
            jti: jti_string,
            issued_at: now_ms / 1000,
            expires_at: expires_ms / 1000,
            kid: kid.into(),
        };
        let flags = if identity.signed_in_with_otp {
            record::SIGNED_IN_WITH_OTP
        } else {
            0
        };
        let device = client.device().encode();
        let evicted: i64 = self
            .run_script("open_session", &self.scripts.open_session, user_id, |invocation| {
                invocation
                    .arg(&sid[..])
                    .arg(&jti[..])
                    .arg(now_ms)
                    .arg(grant.expires_at)
                    .arg(self.session_cap);
                invocation
                    .arg(&kid_tag(kid)[..])
                    .arg(&identity.email)
                    .arg(u32::from(flags))
                    .arg(&device[..])
                    .arg(&client.address_bytes()[..])
                    .arg(if identity.email_verified { "1" } else { "0" })
                    .arg(proof_read_ms);
            })
            .await?;
        if evicted < 0 {
            tracing::warn!(
                user_id,
                "sign-in raced a change of credentials or sessions; nothing opened"
            );
            return Err(ApiError::InvalidCredentials);
        }
        if evicted > 0 {
            tracing::info!(
                user_id,
                evicted,
                "session cap reached; least recently used sessions evicted"
            );
        }
        Ok(grant)
    }

    /// Rotates the session of a verified refresh token presented by `client` (see `rotate.lua`).
    pub async fn rotate(
        &self,
        claims: &RefreshClaims,
        kid: &str,
        client: &ClientInfo,
        now_ms: u64,
    ) -> Result<Rotation, ApiError> {
        let (sid, presented) = (id_of(&claims.sid)?, id_of(&claims.jti)?);
        let new_jti = *uuid::Uuid::new_v4().as_bytes();
        let address = client.address_bytes();
        let reply: Vec<Value> = self
            .run_script("rotate", &self.scripts.rotate, &claims.sub, |invocation| {
                invocation
                    .arg(&sid[..])
                    .arg(&presented[..])
                    .arg(&new_jti[..])
                    .arg(now_ms);
                invocation
                    .arg(self.refresh_ttl.as_millis() as u64)
                    .arg(self.session_lifetime.as_millis() as u64);
                invocation
                    .arg(self.grace.as_millis() as u64)
                    .arg(&kid_tag(kid)[..])
                    .arg(&address[..]);
                // Taken as the command is sent (each attempt anew).
                invocation.arg(crate::time::now_millis() + self.rotation_deadline.as_millis() as u64);
            })
            .await?;
        let outcome = string_at(&reply, 0)?;
        let grant = |values: &[Value]| -> Result<(RefreshGrant, Identity), ApiError> {
            Ok((
                RefreshGrant {
                    user_id: claims.sub.clone(),
                    session_id: claims.sid.clone(),
                    jti: id_at(values, 1)?,
                    issued_at: number_at(values, 2)?,
                    expires_at: number_at(values, 3)?,
                    kid: self.kid_of(&bytes_at(values, 4)?)?,
                },
                Identity {
                    email: string_at(values, 5)?,
                    email_verified: string_at(values, 6)? == "1",
                    signed_in_with_otp: number_at(values, 7)? == 1,
                },
            ))
        };
        match outcome.as_str() {
            "rotated" => {
                crate::metrics::count(crate::metrics::Metric::Rotation);
                grant(&reply).map(|(grant, identity)| Rotation::Rotated { grant, identity })
            }
            "grace" => {
                crate::metrics::count(crate::metrics::Metric::GraceReply);
                grant(&reply).map(|(grant, identity)| Rotation::Grace { grant, identity })
            }
            "late" => Err(ApiError::unavailable(
                "redis ran the rotation after its deadline; nothing changed",
            )),
            "other_address" => {
                tracing::warn!(
                    security_event = "refresh_grace_other_address",
                    user_id = %claims.sub,
                    session_id = %claims.sid,
                    "just-rotated refresh token presented from another address; refused, session kept"
                );
                Err(ApiError::InvalidToken)
            }
            "reused" => {
                log_reuse(&claims.sub, &claims.sid, "refresh");
                Err(ApiError::InvalidToken)
            }
            _ => Err(ApiError::InvalidToken),
        }
    }

    /// Signs out the session of a verified refresh token: its current token, or the
    /// previous one inside the grace window; an older one is reuse (the session ends
    /// all the same, and the event is logged). `false` if the session was not live.
    pub async fn sign_out(&self, claims: &RefreshClaims, now_ms: u64) -> Result<bool, ApiError> {
        let presented = id_of(&claims.jti)?;
        match self.close(&claims.sub, &claims.sid, &presented, now_ms).await?.as_str() {
            "closed" => Ok(true),
            "reused" => {
                log_reuse(&claims.sub, &claims.sid, "sign-out");
                Err(ApiError::InvalidToken)
            }
            _ => Ok(false),
        }
    }

    /// Ends one session of the user by its id (the owner proved itself otherwise);
    /// `false` if it was not live.
    pub async fn end_session(&self, user_id: &str, session_id: &str, now_ms: u64) -> Result<bool, ApiError> {
        Ok(self.close(user_id, session_id, &[], now_ms).await? == "closed")
    }

    async fn close(&self, user_id: &str, session_id: &str, presented: &[u8], now_ms: u64) -> Result<String, ApiError> {
        let sid = id_of(session_id)?;
        self.run_script("close_session", &self.scripts.close_session, user_id, |invocation| {
            invocation
                .arg(&sid[..])
                .arg(now_ms)
                .arg(presented)
                .arg(self.grace.as_millis() as u64);
        })
        .await
    }

    /// Removes every session of the user in one round trip; returns how many were live.
    pub async fn revoke_all(&self, user_id: &str, now_ms: u64) -> Result<u64, ApiError> {
        self.revoke(user_id, &[], now_ms).await
    }

    /// The same, asked by one of the user's sessions (`POST /revoke-all`): 401 if that
    /// session is no longer live, checked by the same script (one round trip).
    pub async fn revoke_all_from(&self, user_id: &str, session_id: &str, now_ms: u64) -> Result<u64, ApiError> {
        self.revoke(user_id, &id_of(session_id)?, now_ms).await
    }

    async fn revoke(&self, user_id: &str, asking: &[u8], now_ms: u64) -> Result<u64, ApiError> {
        let removed: i64 = self
            .run_script("revoke_all", &self.scripts.revoke_all, user_id, |invocation| {
                invocation.arg(now_ms).arg(asking);
            })
            .await?;
        // -1: the asking session is not live (revoke_all.lua changed nothing).
        let removed = u64::try_from(removed).map_err(|_| ApiError::InvalidToken)?;
        crate::metrics::count(crate::metrics::Metric::RevokeAll);
        tracing::warn!(
            security_event = "revoke_all",
            user_id,
            sessions = removed,
            "every session of the user revoked"
        );
        Ok(removed)
    }

    /// Ends every session of the user except `keep`, in one round trip; how many
    /// ended, or 401 if `keep` itself is no longer live (nothing changes then).
    pub async fn revoke_others(&self, user_id: &str, keep: &str, now_ms: u64) -> Result<u64, ApiError> {
        let keep = id_of(keep)?;
        let ended: i64 = self
            .run_script("revoke_others", &self.scripts.revoke_others, user_id, |invocation| {
                invocation.arg(&keep[..]).arg(now_ms);
            })
            .await?;
        u64::try_from(ended).map_err(|_| ApiError::InvalidToken)
    }

    /// What refreshes mint into id tokens from now on (see `set_identity.lua`):
    /// `email` (if given) and `email_verified`; with `keep`, every other session ends.
    pub async fn set_identity(
        &self,
        user_id: &str,
        email: Option<&str>,
        email_verified: bool,
        keep: Option<&str>,
        now_ms: u64,
    ) -> Result<u64, ApiError> {
        let keep = keep.map(id_of).transpose()?;
        self.run_script("set_identity", &self.scripts.set_identity, user_id, |invocation| {
            invocation
                .arg(email.unwrap_or(""))
                .arg(if email_verified { "1" } else { "0" });
            invocation.arg(keep.as_ref().map(|k| &k[..]).unwrap_or(&[])).arg(now_ms);
        })
        .await
    }

    /// The user's live sessions, most recently used first.
    pub async fn list_sessions(&self, user_id: &str, now_ms: u64) -> Result<Vec<SessionInfo>, ApiError> {
        let flat: Vec<Value> = self
            .run_script("list_sessions", &self.scripts.list_sessions, user_id, |invocation| {
                invocation.arg(now_ms);
            })
            .await?;
        let mut sessions = flat
            .chunks(2)
            .map(|row| {
                let record = SessionRecord::decode(&bytes_at(row, 1)?).ok_or_else(|| unexpected_reply(1))?;
                Ok(SessionInfo {
                    session_id: id_at(row, 0)?,
                    created_ms: record.created_ms,
                    last_used_ms: record.used_ms,
                    device: record.device.label(),
                    ip: record.address.map_or_else(|| "unknown".to_string(), |a| a.to_string()),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_used_ms));
        Ok(sessions)
    }

    /// One session's record, live or not: one HGET.
    pub async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRecord>, ApiError> {
        let sid = id_of(session_id)?;
        let key = sessions_key(user_id);
        let bytes: Option<Vec<u8>> = self
            .redis
            .run("session", |mut connection| {
                let key = key.clone();
                async move {
                    redis::cmd("HGET")
                        .arg(key)
                        .arg(&sid[..])
                        .query_async(&mut connection)
                        .await
                }
            })
            .await?;
        Ok(bytes.and_then(|b| SessionRecord::decode(&b)))
    }

    /// Whether a session is still live: one HGET.
    pub async fn is_live(&self, user_id: &str, session_id: &str, now_ms: u64) -> Result<bool, ApiError> {
        Ok(self
            .session(user_id, session_id)
            .await?
            .is_some_and(|s| s.is_live(now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_refresh_kids_with_one_tag_are_refused() {
        assert_eq!(kids_by_tag(["rt-2026-11", "rt-2026-08"]).unwrap().len(), 2);
        // Two kids whose 4-byte tags collide (a birthday search finds a pair).
        let mut seen = std::collections::HashMap::new();
        let (a, b) = (0u32..)
            .find_map(|i| {
                let kid = format!("k{i}");
                seen.insert(kid_tag(&kid), kid.clone()).map(|other| (other, kid))
            })
            .unwrap();
        let refused = kids_by_tag([a.as_str(), b.as_str()]).unwrap_err();
        assert!(refused.0.contains("share a whitelist tag"), "{refused}");
    }
}
