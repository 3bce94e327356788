//! What every measurement shares: the Redis server and service context the bench
//! owns, minted sessions, requests, and the statistics and formatting of results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response};
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use serde_json::{json, Value};
use shared::config::Settings;
use shared::context::SessionContext;
use shared::http::ClientInfo;
use shared::time::now_millis;
use shared::tokens::RefreshGrant;

/// Threads of the bench's tokio runtime: one, as in every function's `main`.
pub const RUNTIME_THREADS: usize = 1;

pub const ISSUER: &str = e2e::ISSUER;
pub const AUDIENCE: &str = e2e::AUDIENCE;
pub const EMAIL: &str = "ada.lovelace@example.com";

/// The bench user's id-token claims besides the ids.
pub fn identity() -> shared::tokens::Identity {
    shared::tokens::Identity {
        email: EMAIL.into(),
        email_verified: true,
        signed_in_with_otp: false,
    }
}
pub const IP: &str = "203.0.113.42";
/// A real browser's user agent: sessions store it for `GET /sessions`, so its
/// length matters to the memory figures.
pub const USER_AGENT: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Bytes of the log lines and EMF metric lines the handlers wrote (to no file: the
/// bench only counts them; in Lambda they go to CloudWatch Logs, which bills them).
static LOGGED: AtomicU64 = AtomicU64::new(0);

pub fn log_bytes() -> u64 {
    LOGGED.load(Ordering::Relaxed)
}

/// A log destination that counts what it is given and keeps nothing.
pub struct CountingSink;

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGGED.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The handlers' JSON log lines and EMF metric lines go to [`CountingSink`].
pub fn count_logs() {
    shared::runtime::init_logging_to(|| CountingSink);
    shared::metrics::set_sink(Box::new(|line: &str| {
        // One line each, as println! writes it.
        LOGGED.fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
    }));
}

/// Figures one measurement hands to another (the cost model reads them).
#[derive(Default)]
pub struct Record {
    /// Refresh handler p50, and the PING measured alongside it.
    pub refresh: Option<(Duration, Duration)>,
    /// Sign-in handler p50 (known email), and the PING measured alongside it.
    pub signin: Option<(Duration, Duration)>,
    /// Log bytes per request, by handler.
    pub log_bytes: Vec<(&'static str, f64)>,
    /// CPU time of the redis-server process per rotation (`rotate.lua` by EVALSHA), and
    /// per GET of a small value: the unit ElastiCache Serverless prices commands in.
    pub rotate_redis_cpu: Option<Duration>,
    pub get_redis_cpu: Option<Duration>,
    /// `MEMORY USAGE` of the keys of a user with one session.
    pub single_session_user_bytes: Option<u64>,
    /// Peak resident memory of each function's process after its first request.
    pub peak_rss: Vec<(String, u64)>,
}

/// How much work a run does: `--quick` is a smoke test of the bench itself.
#[derive(Clone, Copy)]
pub struct Scale {
    pub quick: bool,
}

impl Scale {
    pub fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// Settings as production reads them, pointed at a Redis the bench started.
pub fn settings_for(redis_url: &str) -> Settings {
    settings_with_keys(redis_url, e2e::keys_json())
}

pub fn settings_with_keys(redis_url: &str, keys_json: String) -> Settings {
    let mut settings = e2e::settings_on(e2e::redis_at(redis_url), None, keys_json);
    settings.dynamodb.table = "bench-accounts".into();
    settings
}

/// A context for the lifetime of the bench (spawned tasks need `'static`).
pub fn context(settings: Settings) -> &'static SessionContext {
    Box::leak(Box::new(SessionContext::new(settings).expect("valid bench settings")))
}

/// A plain redis-rs connection, for the baselines and for inspecting state.
pub async fn connect(url: &str) -> MultiplexedConnection {
    let config = AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(60)));
    redis::Client::open(url)
        .expect("a valid redis URL")
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("the bench's redis-server answers")
}

/// A session as sign-in opens it, with its tokens.
pub struct Minted {
    pub grant: RefreshGrant,
    pub refresh_token: String,
    pub id_token: String,
}

pub fn client_info() -> ClientInfo {
    ClientInfo {
        ip: IP.into(),
        user_agent: USER_AGENT.into(),
    }
}

pub fn new_user_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Opens a session exactly as sign-in does (minus the password), and mints its
/// refresh token; the id token only when asked (RS256 signing is the slow part).
pub async fn open_session(context: &SessionContext, user_id: &str, with_id_token: bool) -> Minted {
    let now_ms = now_millis();
    let grant = context
        .whitelist
        .open_session(
            &shared::whitelist::Opener {
                user_id,
                identity: &identity(),
                proof_read_ms: now_ms,
            },
            &client_info(),
            context.tokens.refresh_kid(),
            now_ms,
        )
        .await
        .expect("open a session");
    let refresh_token = context.tokens.mint_refresh_token(&grant).expect("mint a refresh token");
    let id_token = if with_id_token {
        context
            .tokens
            .mint_id_token(user_id, &grant.session_id, &identity(), now_ms / 1000)
            .expect("mint an id token")
    } else {
        String::new()
    };
    Minted {
        grant,
        refresh_token,
        id_token,
    }
}

pub fn refresh_request(refresh_token: &str) -> Request {
    e2e::json_post("/tokens", &json!({ "refreshToken": refresh_token }))
}

pub fn signout_request(refresh_token: &str) -> Request {
    e2e::json_post("/signout", &json!({ "refreshToken": refresh_token }))
}

pub fn revoke_all_request(id_token: &str) -> Request {
    e2e::bearer("POST", "/revoke-all", id_token)
}

/// Status and JSON body (`Null` when empty) of a handler's response.
pub fn read_response(response: &Response<Body>) -> (u16, Value) {
    let text = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

pub fn refresh_token_of(body: &Value) -> String {
    body["tokens"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {body}"))
        .to_string()
}

/// Durations, sorted once.
#[derive(Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        Samples(samples)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Nearest-rank quantile.
    pub fn quantile(&self, q: f64) -> Duration {
        let n = self.0.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.0[rank - 1]
    }

    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    pub fn max(&self) -> Duration {
        *self.0.last().unwrap()
    }
}

/// Times `count` calls of a synchronous function after `warmup` untimed ones.
pub fn time_sync<T>(warmup: usize, count: usize, mut f: impl FnMut() -> T) -> Samples {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let samples = (0..count)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    Samples::new(samples)
}

/// `a / b` of two durations.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

pub fn fmt_us(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 100.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

pub fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

pub fn fmt_ratio(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

pub fn fmt_bytes(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{bytes} B")
    }
}

pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
