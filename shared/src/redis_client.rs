//! One Redis connection per Lambda instance, standalone or cluster, plain or TLS,
//! chosen by configuration alone.
//!
//! Connections are opened lazily on the first request (cold start does no round
//! trip), re-established when found dead (an instance frozen for an hour comes back
//! to a closed socket), and every call has a deadline: a Redis that is down or
//! paused costs a fast 503, never a hung invocation.

use std::future::Future;
use std::ops::Deref;
use std::sync::OnceLock;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Script, TlsCertificates, Value};
use tokio::sync::OnceCell;

use crate::config::{check_redis_url, ConfigError, RedisSettings};
use crate::error::ApiError;

/// A Lua script whose SHA-1 (what EVALSHA names it by) is computed on first use,
/// not when the function starts: each function builds every script of its context
/// but runs few of them, and hashing them all took about a third of a millisecond of
/// every cold start (BENCHMARKS.md, section 5).
pub struct LazyScript {
    code: &'static str,
    script: OnceLock<Script>,
}

impl LazyScript {
    pub const fn new(code: &'static str) -> Self {
        LazyScript {
            code,
            script: OnceLock::new(),
        }
    }
}

impl Deref for LazyScript {
    type Target = Script;

    fn deref(&self) -> &Script {
        self.script.get_or_init(|| Script::new(self.code))
    }
}

/// A connection of either kind; both multiplex, so clones share one socket per node.
#[derive(Clone)]
pub enum Connection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Standalone(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Standalone(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

enum Source {
    Standalone(ConnectionManager),
    Cluster {
        client: Box<redis::cluster::ClusterClient>,
        connection: OnceCell<ClusterConnection>,
    },
}

pub struct RedisClient {
    source: Source,
    /// Deadline of one attempt: connecting (if needed) plus the command.
    attempt_deadline: Duration,
}

fn tls_certificates(settings: &RedisSettings) -> Result<Option<TlsCertificates>, ConfigError> {
    let Some(path) = &settings.ca_cert_file else {
        return Ok(None);
    };
    let root_cert = std::fs::read(path).map_err(|e| ConfigError(format!("REDIS_CA_CERT_FILE {path}: {e}")))?;
    Ok(Some(TlsCertificates {
        client_tls: None,
        root_cert: Some(root_cert),
    }))
}

impl RedisClient {
    /// Builds the client without touching the network.
    pub fn new(settings: &RedisSettings) -> Result<Self, ConfigError> {
        check_redis_url(&settings.url)?;
        let certificates = tls_certificates(settings)?;
        let bad = |e: RedisError| ConfigError(format!("Redis client: {:?}", e.kind()));
        let source = if settings.cluster {
            let mut seeds = vec![settings.url.clone()];
            seeds.extend(settings.cluster_seeds.iter().cloned());
            // The cluster client's defaults retry for a long time; a Lambda answers 503 instead.
            let mut builder = ClusterClientBuilder::new(seeds)
                .connection_timeout(settings.connect_timeout)
                .response_timeout(settings.response_timeout)
                .retries(1)
                .min_retry_wait(10)
                .max_retry_wait(100);
            if let Some(certificates) = certificates {
                builder = builder.certs(certificates);
            }
            Source::Cluster {
                client: Box::new(builder.build().map_err(bad)?),
                connection: OnceCell::new(),
            }
        } else {
            let client = match certificates {
                Some(certificates) => redis::Client::build_with_tls(settings.url.as_str(), certificates),
                None => redis::Client::open(settings.url.as_str()),
            }
            .map_err(bad)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(settings.connect_timeout))
                .set_response_timeout(Some(settings.response_timeout))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(10))
                .set_max_delay(Duration::from_millis(100));
            Source::Standalone(ConnectionManager::new_lazy_with_config(client, config).map_err(bad)?)
        };
        Ok(RedisClient {
            source,
            attempt_deadline: settings.connect_timeout + settings.response_timeout,
        })
    }

    async fn connection(&self) -> RedisResult<Connection> {
        match &self.source {
            Source::Standalone(manager) => Ok(Connection::Standalone(manager.clone())),
            Source::Cluster { client, connection } => {
                let connection = connection.get_or_try_init(|| client.get_async_connection()).await?;
                Ok(Connection::Cluster(connection.clone()))
            }
        }
    }

    /// Runs one Redis operation with a deadline, retrying once on a connection found
    /// dead. Every operation of the service is idempotent or re-checks its own state
    /// (a retried rotation lands in the grace path), so one retry is safe.
    pub async fn run<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T, ApiError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let mut last_error = None;
        for attempt in 0..2 {
            let result = tokio::time::timeout(self.attempt_deadline, async {
                let connection = self.connection().await?;
                f(connection).await
            })
            .await;
            match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) if attempt == 0 && is_worth_a_retry(&e) => {
                    tracing::warn!(operation, error_kind = ?e.kind(), "redis call failed; retrying once");
                    last_error = Some(e);
                }
                Ok(Err(e)) => return Err(classify(operation, &e)),
                Err(_elapsed) => return Err(ApiError::unavailable(format!("redis {operation}: no answer in time"))),
            }
        }
        Err(last_error
            .map(|e| classify(operation, &e))
            .unwrap_or_else(|| ApiError::unavailable(format!("redis {operation}: connection lost twice"))))
    }
}

/// Worth one more attempt: a connection found dead, or a script flushed between the
/// client's reload and its second EVALSHA (the next attempt loads it again).
fn is_worth_a_retry(e: &RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
        || (!e.is_timeout() && (e.is_connection_dropped() || e.is_connection_refusal() || e.is_io_error()))
}

/// Unreachable, slow or refusing our credentials is 503, and so is a script that
/// went missing again right after the client reloaded it (seen on ElastiCache
/// Serverless: the retry that follows usually finds it); anything else from Redis (a
/// script error, CROSSSLOT) is a bug.
fn classify(operation: &'static str, e: &RedisError) -> ApiError {
    let unavailable = e.kind() == redis::ErrorKind::AuthenticationFailed
        || e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
        || e.is_timeout()
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_cluster_error();
    let cause = format!("redis {operation}: {:?}", e.kind());
    if unavailable {
        ApiError::unavailable(cause)
    } else {
        ApiError::internal(format!("{cause}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_redis_url_is_refused_without_echoing_it() {
        for bad in ["", "localhost:6379", "http://127.0.0.1:6379", "redis://:secret@[bad"] {
            let error = check_redis_url(bad).unwrap_err().to_string();
            assert!(!error.contains("secret"), "{error}");
        }
        assert!(check_redis_url("redis://127.0.0.1:6379").is_ok());
        assert!(check_redis_url("rediss://user:pass@cache.example.com:6379").is_ok());
    }
}
