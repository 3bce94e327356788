//! Settings, read from the environment once per Lambda instance.
//!
//! Every value has a default fit for production except the ones that identify a
//! deployment (`ISSUER`, `REDIS_URL`, `USERS_TABLE`, the keys). Keys and secrets
//! come from `AUTH_KEYS` (JSON) or `AUTH_KEYS_FILE` (a path to the same JSON);
//! see [`crate::keys`] for the format. They are never logged.

use std::time::Duration;

/// Everything a function needs to know about its deployment.
#[derive(Clone)]
pub struct Settings {
    /// `iss` of every id token; also the base of the discovery document's `jwks_uri`.
    pub issuer: String,
    /// `aud` of every id token.
    pub audience: String,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A session dies this long after sign-in, however often it is refreshed.
    pub session_lifetime: Duration,
    /// How long the just-rotated refresh token still returns the winner's pair.
    pub refresh_grace: Duration,
    /// Live sessions per user; opening one more evicts the least recently used.
    pub session_cap: u32,
    pub signin_limit_per_email: u32,
    pub signin_limit_per_ip: u32,
    pub signin_window: Duration,
    pub redis: RedisSettings,
    pub dynamodb: DynamoDbSettings,
    /// The raw key document (JSON). Parsed once by [`crate::keys::KeySet::from_json`].
    pub keys_json: String,
}

#[derive(Clone, Debug)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` (TLS), optionally with `user:password@`.
    pub url: String,
    /// Cluster mode (ElastiCache Serverless, cluster-mode-enabled groups). Further seed
    /// nodes may be given in `REDIS_CLUSTER_NODES` (comma-separated URLs).
    pub cluster: bool,
    pub cluster_seeds: Vec<String>,
    /// PEM file of the CA that signs the server certificate, when not a public CA.
    pub ca_cert_file: Option<String>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct DynamoDbSettings {
    pub table: String,
    /// Set only for DynamoDB Local; in AWS the SDK finds the regional endpoint.
    pub endpoint: Option<String>,
    pub connect_timeout: Duration,
    /// Whole-operation budget, retries included.
    pub operation_timeout: Duration,
}

/// A setting that could not be read; the function refuses to start.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name} must be a whole number, got {raw:?}"))),
    }
}

fn seconds(name: &str, default: u64) -> Result<Duration, ConfigError> {
    number(name, default).map(Duration::from_secs)
}

fn millis(name: &str, default: u64) -> Result<Duration, ConfigError> {
    number(name, default).map(Duration::from_millis)
}

impl Settings {
    /// Reads every setting; the key document comes from `AUTH_KEYS`, the file
    /// `AUTH_KEYS_FILE`, or (in AWS) the Secrets Manager secret `AUTH_KEYS_SECRET_ARN`,
    /// fetched once here, at start-up.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let keys_json = match (var("AUTH_KEYS"), var("AUTH_KEYS_FILE"), var("AUTH_KEYS_SECRET_ARN")) {
            (Some(json), _, _) => json,
            (None, Some(path), _) => {
                std::fs::read_to_string(&path).map_err(|e| ConfigError(format!("AUTH_KEYS_FILE {path}: {e}")))?
            }
            (None, None, Some(secret_id)) => crate::secrets::fetch_key_document(&secret_id).await?,
            (None, None, None) => {
                return Err(ConfigError(
                    "one of AUTH_KEYS, AUTH_KEYS_FILE or AUTH_KEYS_SECRET_ARN must be set".into(),
                ))
            }
        };
        let settings = Settings {
            issuer: var("ISSUER").ok_or_else(|| ConfigError("ISSUER must be set".into()))?,
            audience: var("ID_TOKEN_AUDIENCE").unwrap_or_else(|| "account-service".into()),
            id_token_ttl: seconds("ID_TOKEN_TTL_SECONDS", 15 * 60)?,
            refresh_token_ttl: seconds("REFRESH_TOKEN_TTL_SECONDS", 3 * 24 * 3600)?,
            session_lifetime: seconds("SESSION_LIFETIME_SECONDS", 30 * 24 * 3600)?,
            refresh_grace: seconds("REFRESH_GRACE_SECONDS", 10)?,
            session_cap: number("SESSION_CAP", 10)?,
            signin_limit_per_email: number("SIGNIN_LIMIT_PER_EMAIL", 10)?,
            signin_limit_per_ip: number("SIGNIN_LIMIT_PER_IP", 100)?,
            signin_window: seconds("SIGNIN_WINDOW_SECONDS", 15 * 60)?,
            redis: RedisSettings {
                url: var("REDIS_URL").ok_or_else(|| ConfigError("REDIS_URL must be set".into()))?,
                cluster: matches!(var("REDIS_CLUSTER").as_deref(), Some("1" | "true" | "yes")),
                cluster_seeds: var("REDIS_CLUSTER_NODES")
                    .map(|v| {
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                ca_cert_file: var("REDIS_CA_CERT_FILE"),
                connect_timeout: millis("REDIS_CONNECT_TIMEOUT_MS", 500)?,
                response_timeout: millis("REDIS_RESPONSE_TIMEOUT_MS", 500)?,
            },
            dynamodb: DynamoDbSettings {
                table: var("USERS_TABLE").unwrap_or_else(|| "accounts".into()),
                endpoint: var("AWS_ENDPOINT_URL_DYNAMODB"),
                connect_timeout: millis("DYNAMODB_CONNECT_TIMEOUT_MS", 500)?,
                operation_timeout: millis("DYNAMODB_TIMEOUT_MS", 1500)?,
            },
            keys_json,
        };
        settings.check()?;
        Ok(settings)
    }

    /// Rejects combinations that would make the service wrong rather than slow.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.session_cap == 0 {
            return Err(ConfigError("SESSION_CAP must be at least 1".into()));
        }
        if self.id_token_ttl.is_zero() || self.refresh_token_ttl.is_zero() || self.session_lifetime.is_zero() {
            return Err(ConfigError("token lifetimes must be positive".into()));
        }
        if self.signin_window.is_zero() {
            return Err(ConfigError("SIGNIN_WINDOW_SECONDS must be positive".into()));
        }
        crate::redis_client::check_url(&self.redis.url)?;
        Ok(())
    }
}

impl std::fmt::Debug for Settings {
    // Hand-written so that the key document can never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("session_cap", &self.session_cap)
            .field("redis_cluster", &self.redis.cluster)
            .field("dynamodb_table", &self.dynamodb.table)
            .finish_non_exhaustive()
    }
}
