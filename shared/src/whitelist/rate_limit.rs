//! Sign-in attempts, counted per normalized email and per source address in fixed
//! windows. Every attempt counts (counting only failures would let a burst of
//! parallel guesses through before the first failure is recorded); a success
//! clears the email's counter but never the address's, so one valid account does
//! not give an address a fresh budget for stuffing others.

use std::time::Duration;

use redis::Script;

use crate::config::Settings;
use crate::error::ApiError;
use crate::redis_client::RedisClient;

pub struct SignInLimiter {
    script: Script,
    per_email: u64,
    per_ip: u64,
    window: Duration,
}

fn email_key(email: &str) -> String {
    format!("rl:email:{{{email}}}")
}

fn ip_key(ip: &str) -> String {
    format!("rl:ip:{{{ip}}}")
}

impl SignInLimiter {
    pub fn new(settings: &Settings) -> Self {
        SignInLimiter {
            script: Script::new(include_str!("count_attempt.lua")),
            per_email: settings.signin_limit_per_email.into(),
            per_ip: settings.signin_limit_per_ip.into(),
            window: settings.signin_window,
        }
    }

    async fn count(&self, redis: &RedisClient, key: String) -> Result<(u64, u64), ApiError> {
        let window_ms = self.window.as_millis() as u64;
        redis
            .run("count_attempt", |mut connection| {
                let mut invocation = self.script.key(&key);
                invocation.arg(window_ms);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
    }

    /// Counts this attempt; 429 with the time left in the window if over either limit.
    /// The two counters live in different slots, so they are two scripts run concurrently.
    pub async fn attempt(&self, redis: &RedisClient, email: &str, ip: &str) -> Result<(), ApiError> {
        let (by_email, by_ip) = tokio::join!(self.count(redis, email_key(email)), self.count(redis, ip_key(ip)));
        let ((email_count, email_ttl), (ip_count, ip_ttl)) = (by_email?, by_ip?);
        let mut retry_after_ms = 0;
        if email_count > self.per_email {
            retry_after_ms = email_ttl;
        }
        if ip_count > self.per_ip {
            retry_after_ms = retry_after_ms.max(ip_ttl);
        }
        if retry_after_ms > 0 {
            tracing::warn!(security_event = "signin_rate_limited", ip, "too many sign-in attempts");
            return Err(ApiError::RateLimited {
                retry_after: Duration::from_millis(retry_after_ms).max(Duration::from_secs(1)),
            });
        }
        Ok(())
    }

    /// A successful sign-in clears the email's counter (never the address's).
    pub async fn succeeded(&self, redis: &RedisClient, email: &str) -> Result<(), ApiError> {
        let key = email_key(email);
        redis
            .run("clear_attempts", |mut connection| {
                let key = key.clone();
                async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut connection).await }
            })
            .await
    }
}
