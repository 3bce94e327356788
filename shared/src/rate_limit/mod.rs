//! Attempt limits in Redis, in fixed windows: sign-in, sign-up, and every other
//! guess at a secret (a current password). Not the whitelist: counters only.
//!
//! Sign-in counts per (email, source address), per address, and per email as a
//! higher backstop, so that:
//! - one address cannot lock anyone out: its own budget runs out first, and an
//!   attempt refused for the address's limit counts against no email;
//! - a wrong-password flood from one address does not lock the owner out from
//!   another (their pair counter is separate); only a flood from many addresses
//!   reaches the backstop;
//! - every attempt counts, not only failures (counting failures would let a burst
//!   of parallel guesses through before the first failure is recorded), and a
//!   success clears the pair's counter only: never the address's, never the backstop.

use std::time::Duration;

use crate::config::Settings;
use crate::error::ApiError;
use crate::redis_client::{LazyScript, RedisClient};

/// One check-and-count script, shared by every limit (hashed once per instance).
static CHECK_AND_COUNT: LazyScript = LazyScript::new(include_str!("check_and_count.lua"));

/// Counters keyed by the caller's address, email, or both (the email's hash tag).
struct Counter {
    key: String,
    limit: u64,
}

async fn check_and_count(redis: &RedisClient, counters: &[Counter], window: Duration) -> Result<(), ApiError> {
    let window_ms = window.as_millis() as u64;
    let (allowed, retry_after_ms): (u64, u64) = redis
        .run("check_and_count", |mut connection| {
            let mut invocation = CHECK_AND_COUNT.prepare_invoke();
            invocation.arg(window_ms);
            for counter in counters {
                invocation.key(&counter.key).arg(counter.limit);
            }
            async move { invocation.invoke_async(&mut connection).await }
        })
        .await?;
    if allowed == 1 {
        return Ok(());
    }
    Err(ApiError::RateLimited {
        retry_after: Duration::from_millis(retry_after_ms).max(Duration::from_secs(1)),
    })
}

fn address_counter(purpose: &str, ip: &str, limit: u32) -> Counter {
    Counter {
        key: format!("rl:{purpose}:ip:{{{ip}}}"),
        limit: limit.into(),
    }
}

/// Sign-in attempts (and every other guess at a user's password).
pub struct SignInLimiter {
    per_email_and_address: u32,
    per_address: u32,
    per_email: u32,
    window: Duration,
}

impl SignInLimiter {
    pub fn new(settings: &Settings) -> Self {
        SignInLimiter {
            per_email_and_address: settings.signin_limit_per_email,
            per_address: settings.signin_limit_per_ip,
            per_email: settings.signin_limit_per_email_backstop,
            window: settings.signin_window,
        }
    }

    /// The pair counter and the backstop share the email's hash tag: one script.
    fn email_counters(&self, email: &str, ip: &str) -> [Counter; 2] {
        [
            Counter {
                key: format!("rl:signin:pair:{{{email}}}:{ip}"),
                limit: self.per_email_and_address.into(),
            },
            Counter {
                key: format!("rl:signin:email:{{{email}}}"),
                limit: self.per_email.into(),
            },
        ]
    }

    /// Counts this attempt, or refuses it (429, counted nowhere it was not allowed).
    /// The address is checked first: an attempt refused for its address never
    /// reaches the email's counters.
    pub async fn attempt(&self, redis: &RedisClient, email: &str, ip: &str) -> Result<(), ApiError> {
        let refused = |error: ApiError| {
            tracing::warn!(security_event = "signin_rate_limited", ip, "too many sign-in attempts");
            error
        };
        let by_address = [address_counter("signin", ip, self.per_address)];
        check_and_count(redis, &by_address, self.window)
            .await
            .map_err(refused)?;
        check_and_count(redis, &self.email_counters(email, ip), self.window)
            .await
            .map_err(refused)
    }

    /// A successful sign-in clears its (email, address) counter only.
    pub async fn succeeded(&self, redis: &RedisClient, email: &str, ip: &str) -> Result<(), ApiError> {
        let [pair, _] = self.email_counters(email, ip);
        redis
            .run("clear_attempts", |mut connection| {
                let key = pair.key.clone();
                async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut connection).await }
            })
            .await
    }
}

/// Sign-ups per source address: each costs an argon2 hash and a DynamoDB write.
pub struct SignUpLimiter {
    per_address: u32,
    window: Duration,
}

impl SignUpLimiter {
    pub fn new(settings: &Settings) -> Self {
        SignUpLimiter {
            per_address: settings.signup_limit_per_ip,
            window: settings.signup_window,
        }
    }

    pub async fn attempt(&self, redis: &RedisClient, ip: &str) -> Result<(), ApiError> {
        let by_address = [address_counter("signup", ip, self.per_address)];
        check_and_count(redis, &by_address, self.window)
            .await
            .inspect_err(|_| tracing::warn!(security_event = "signup_rate_limited", ip, "too many sign-ups"))
    }
}

/// Requests for emailed codes, per email (whether or not it has an account: the
/// answer must not tell) and per source address.
pub struct CodeLimiter {
    refund: LazyScript,
    per_email: u32,
    per_address: u32,
    window: Duration,
}

impl CodeLimiter {
    pub fn new(settings: &Settings) -> Self {
        CodeLimiter {
            refund: LazyScript::new(include_str!("refund.lua")),
            per_email: settings.code_limit_per_email,
            per_address: settings.code_limit_per_ip,
            window: settings.code_window,
        }
    }

    fn email_counter(&self, email: &str) -> Counter {
        Counter {
            key: format!("rl:code:email:{{{email}}}"),
            limit: self.per_email.into(),
        }
    }

    /// Counts a request for a code to `email`, or refuses it (429).
    pub async fn attempt(&self, redis: &RedisClient, email: &str, ip: &str) -> Result<(), ApiError> {
        let refused = |error: ApiError| {
            if matches!(error, ApiError::RateLimited { .. }) {
                tracing::warn!(security_event = "code_rate_limited", ip, "too many code requests");
            }
            error
        };
        let by_address = [address_counter("code", ip, self.per_address)];
        check_and_count(redis, &by_address, self.window)
            .await
            .map_err(refused)?;
        check_and_count(redis, &[self.email_counter(email)], self.window)
            .await
            .map_err(refused)
    }

    /// Gives back the request of a mail that never left (SES refused or timed out):
    /// a cooldown must not trap a user whose mail failed.
    pub async fn refund(&self, redis: &RedisClient, email: &str, ip: &str) -> Result<(), ApiError> {
        for key in [self.email_counter(email).key, address_counter("code", ip, 0).key] {
            redis
                .run("refund_attempt", |mut connection| {
                    let invocation = self.refund.key(&key);
                    async move { invocation.invoke_async::<()>(&mut connection).await }
                })
                .await?;
        }
        Ok(())
    }
}
