//! Settings, read from the environment once per Lambda instance.
//!
//! A leaf: it imports no sibling module. Every value has a default fit for
//! production except the ones that identify a deployment (`ISSUER`, `REDIS_URL`) and
//! the key document, which `context` loads (from `AUTH_KEYS`, `AUTH_KEYS_FILE` or
//! Secrets Manager) and hands in; it is never logged. Tests build the same settings
//! from a lookup function of their own and then change fields: one source of defaults.

use std::time::Duration;

/// Everything a function needs to know about its deployment.
#[derive(Clone)]
pub struct Settings {
    /// `iss` of every id token; also the base of the discovery document's `jwks_uri`.
    pub issuer: String,
    /// `aud` of every id token.
    pub audience: String,
    /// Browser origins (`ALLOWED_ORIGINS`, comma-separated) answered with CORS and allowed
    /// to rely on the refresh cookie; empty: none.
    pub allowed_origins: Vec<String>,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A session dies this long after sign-in, however often it is refreshed.
    pub session_lifetime: Duration,
    /// How long the just-rotated refresh token still returns the winner's pair.
    pub refresh_grace: Duration,
    /// Live sessions per user; opening one more evicts the least recently used.
    pub session_cap: u32,
    /// Sign-in attempts per (email, source address) per window.
    pub signin_limit_per_email: u32,
    pub signin_limit_per_ip: u32,
    /// Sign-in attempts per email from all addresses together: the backstop.
    pub signin_limit_per_email_backstop: u32,
    pub signin_window: Duration,
    pub signup_limit_per_ip: u32,
    pub signup_window: Duration,
    /// Emailed one-time codes requested per email address, and per source address.
    pub code_limit_per_email: u32,
    pub code_limit_per_ip: u32,
    pub code_window: Duration,
    /// The verified SES identity mail is sent from (`MAIL_FROM`).
    pub mail_from: String,
    pub redis: RedisSettings,
    pub dynamodb: DynamoDbSettings,
    pub aws: AwsSettings,
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

/// Region and credentials of the AWS SDK clients, and the endpoint override for
/// local use. Lambda sets the first four for every instance.
#[derive(Clone, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// `AWS_ENDPOINT_URL`: every service's endpoint, unless its own is set.
    pub endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    pub secrets_manager_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_SESV2` (`aws-ses-v2-local` under `make dev` and `make test`).
    pub ses_endpoint: Option<String>,
}

impl AwsSettings {
    pub fn from_lookup(lookup: &Lookup<'_>) -> Self {
        AwsSettings {
            region: lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION")),
            access_key_id: lookup("AWS_ACCESS_KEY_ID"),
            secret_access_key: lookup("AWS_SECRET_ACCESS_KEY"),
            session_token: lookup("AWS_SESSION_TOKEN"),
            endpoint: lookup("AWS_ENDPOINT_URL"),
            secrets_manager_endpoint: lookup("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
            ses_endpoint: lookup("AWS_ENDPOINT_URL_SESV2"),
        }
    }
}

impl std::fmt::Debug for AwsSettings {
    // Hand-written so that credentials can never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
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

/// Where settings come from: the process environment in a function, a map in tests.
/// Blank values count as unset.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The process environment as a [`Lookup`].
pub fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(lookup: &Lookup<'_>, name: &str, default: T) -> Result<T, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name} must be a whole number, got {raw:?}"))),
    }
}

/// A comma-separated list, blanks dropped (`ALLOWED_ORIGINS`: a trailing slash too).
fn list(lookup: &Lookup<'_>, name: &str) -> Vec<String> {
    lookup(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn seconds(lookup: &Lookup<'_>, name: &str, default: u64) -> Result<Duration, ConfigError> {
    number(lookup, name, default).map(Duration::from_secs)
}

fn millis(lookup: &Lookup<'_>, name: &str, default: u64) -> Result<Duration, ConfigError> {
    number(lookup, name, default).map(Duration::from_millis)
}

impl Settings {
    /// Every setting from `lookup`, with the key document loaded by the caller.
    pub fn from_lookup(lookup: &Lookup<'_>, keys_json: String) -> Result<Self, ConfigError> {
        let required = |name: &str| lookup(name).ok_or_else(|| ConfigError(format!("{name} must be set")));
        let settings = Settings {
            issuer: required("ISSUER")?,
            audience: lookup("ID_TOKEN_AUDIENCE").unwrap_or_else(|| "account-service".into()),
            allowed_origins: list(lookup, "ALLOWED_ORIGINS"),
            id_token_ttl: seconds(lookup, "ID_TOKEN_TTL_SECONDS", 15 * 60)?,
            refresh_token_ttl: seconds(lookup, "REFRESH_TOKEN_TTL_SECONDS", 3 * 24 * 3600)?,
            session_lifetime: seconds(lookup, "SESSION_LIFETIME_SECONDS", 30 * 24 * 3600)?,
            refresh_grace: seconds(lookup, "REFRESH_GRACE_SECONDS", 10)?,
            session_cap: number(lookup, "SESSION_CAP", 10)?,
            signin_limit_per_email: number(lookup, "SIGNIN_LIMIT_PER_EMAIL", 10)?,
            signin_limit_per_ip: number(lookup, "SIGNIN_LIMIT_PER_IP", 100)?,
            signin_limit_per_email_backstop: number(lookup, "SIGNIN_LIMIT_PER_EMAIL_BACKSTOP", 100)?,
            signin_window: seconds(lookup, "SIGNIN_WINDOW_SECONDS", 15 * 60)?,
            signup_limit_per_ip: number(lookup, "SIGNUP_LIMIT_PER_IP", 20)?,
            signup_window: seconds(lookup, "SIGNUP_WINDOW_SECONDS", 3600)?,
            code_limit_per_email: number(lookup, "CODE_LIMIT_PER_EMAIL", 5)?,
            code_limit_per_ip: number(lookup, "CODE_LIMIT_PER_IP", 50)?,
            code_window: seconds(lookup, "CODE_WINDOW_SECONDS", 3600)?,
            mail_from: lookup("MAIL_FROM").unwrap_or_else(|| "no-reply@localhost".into()),
            redis: RedisSettings {
                url: required("REDIS_URL")?,
                cluster: matches!(lookup("REDIS_CLUSTER").as_deref(), Some("1" | "true" | "yes")),
                cluster_seeds: lookup("REDIS_CLUSTER_NODES")
                    .map(|v| {
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                ca_cert_file: lookup("REDIS_CA_CERT_FILE"),
                connect_timeout: millis(lookup, "REDIS_CONNECT_TIMEOUT_MS", 500)?,
                response_timeout: millis(lookup, "REDIS_RESPONSE_TIMEOUT_MS", 500)?,
            },
            dynamodb: DynamoDbSettings {
                table: lookup("USERS_TABLE").unwrap_or_else(|| "accounts".into()),
                endpoint: lookup("AWS_ENDPOINT_URL_DYNAMODB"),
                connect_timeout: millis(lookup, "DYNAMODB_CONNECT_TIMEOUT_MS", 500)?,
                operation_timeout: millis(lookup, "DYNAMODB_TIMEOUT_MS", 1500)?,
            },
            aws: AwsSettings::from_lookup(lookup),
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
        if self.signin_window.is_zero() || self.signup_window.is_zero() || self.code_window.is_zero() {
            return Err(ConfigError("rate-limit windows must be positive".into()));
        }
        for origin in &self.allowed_origins {
            check_origin(origin)?;
        }
        check_redis_url(&self.redis.url)
    }
}

/// An origin as a browser sends it in `Origin`: `http(s)://host[:port]`, no path, no
/// wildcard (`*` cannot go with credentials) and not `null` (sandboxed and file pages).
pub fn check_origin(origin: &str) -> Result<(), ConfigError> {
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    let valid = !host.is_empty() && !host.contains(['/', '*', '?', '#', '@', ' ']) && host == host.to_ascii_lowercase();
    if valid {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "ALLOWED_ORIGINS: {origin:?} is not an origin (lower-case http(s)://host[:port], no path)"
        )))
    }
}

/// Refuses a URL that is not `redis://` or `rediss://`, without echoing it (it may hold a password).
pub fn check_redis_url(url: &str) -> Result<(), ConfigError> {
    use redis::IntoConnectionInfo;
    let scheme_ok = url.starts_with("redis://") || url.starts_with("rediss://");
    if scheme_ok && url.into_connection_info().is_ok() {
        Ok(())
    } else {
        Err(ConfigError("REDIS_URL must be a redis:// or rediss:// URL".into()))
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
