//! (1) Handler latency in process against the physical floor measured in the same run.
//!
//! The floor of a refresh is what no implementation can skip: one Redis round trip,
//! one RSA-2048 signature as `openssl speed` makes it (the id token), one HMAC-SHA256
//! signature and one HMAC-SHA256 verification (the refresh tokens), the last two with
//! AWS-LC directly, without any JWT around them. Sign-out and revoke-all are held to
//! one round trip plus the check they cannot skip: an HMAC-SHA256 verification, and an
//! RSA-2048 verification as `openssl speed` makes it. The table also shows what
//! jsonwebtoken and the service's own code pay for the same operations.

use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use redis::aio::MultiplexedConnection;
use shared::api;
use shared::context::SessionContext;
use shared::runtime::respond;
use shared::time::now_millis;
use shared::tokens::{IdClaims, RefreshClaims};

use crate::harness::*;
use crate::reference::{openssl_rsa2048, OpensslRsa};
use crate::report::{Goal, Section};

pub struct Floors {
    pub ping: Samples,
    pub ping_service_client: Samples,
    /// PING right after some CPU work (the gap), as handlers space their round trips.
    pub ping_after_work: Vec<(Duration, Samples)>,
    /// `openssl speed rsa2048`, before the handlers are measured.
    pub openssl: Result<OpensslRsa, String>,
    /// An RS256 signature as jsonwebtoken makes it (it imports the key every time).
    pub rs256_sign: Samples,
    /// The RSA private key import jsonwebtoken repeats inside every RS256 signature.
    pub rs256_key_import: Samples,
    /// An RS256 signature with the key imported once (aws-lc-rs directly).
    pub rs256_sign_cached: Samples,
    /// The service's own id token: `Tokens::mint_id_token` (claims, JSON, base64, signature).
    pub rs256_mint_service: Samples,
    /// HMAC-SHA256 of a refresh token's signing input, AWS-LC directly.
    pub hmac_sign: Samples,
    pub hmac_verify: Samples,
    pub hs256_sign: Samples,
    pub hs256_verify: Samples,
    pub rs256_verify: Samples,
}

impl Floors {
    /// (p50, p99) of the sum of the parts named.
    fn sum(parts: &[&Samples]) -> (Duration, Duration) {
        (parts.iter().map(|s| s.p50()).sum(), parts.iter().map(|s| s.p99()).sum())
    }
}

fn id_claims() -> IdClaims {
    let now = now_millis() / 1000;
    IdClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: new_user_id(),
        sid: uuid::Uuid::new_v4().simple().to_string(),
        email: EMAIL.into(),
        email_verified: true,
        amr: vec!["pwd".into()],
        iat: now,
        exp: now + 900,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    }
}

fn refresh_claims() -> RefreshClaims {
    let now = now_millis() / 1000;
    RefreshClaims {
        iss: ISSUER.into(),
        aud: format!("{ISSUER}/tokens"),
        sub: new_user_id(),
        sid: uuid::Uuid::new_v4().simple().to_string(),
        jti: uuid::Uuid::new_v4().simple().to_string(),
        iat: now,
        exp: now + 3 * 24 * 3600,
    }
}

fn validation(algorithm: Algorithm, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation
}

pub async fn floors(redis_url: &str, context: &SessionContext, n: usize) -> Floors {
    let mut connection = connect(redis_url).await;
    let mut ping = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let started = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut connection).await.unwrap();
        if i >= n / 10 {
            ping.push(started.elapsed());
        }
    }
    // The same PING through the service's own client (deadline, reconnect, manager).
    let mut ping_service_client = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let started = Instant::now();
        let _: String = context
            .whitelist
            .redis()
            .run(
                "ping",
                |mut c| async move { redis::cmd("PING").query_async(&mut c).await },
            )
            .await
            .unwrap();
        if i >= n / 10 {
            ping_service_client.push(started.elapsed());
        }
    }

    let mut ping_after_work = Vec::new();
    for gap in [10, 100, 1000].map(Duration::from_micros) {
        let mut samples = Vec::with_capacity(n / 3);
        for _ in 0..n / 3 {
            let spin = Instant::now();
            while spin.elapsed() < gap {
                std::hint::spin_loop();
            }
            let started = Instant::now();
            let _: String = redis::cmd("PING").query_async(&mut connection).await.unwrap();
            samples.push(started.elapsed());
        }
        ping_after_work.push((gap, Samples::new(samples)));
    }

    let crypto = Crypto::new();
    let warmup = n / 10;
    let now_s = now_millis() / 1000;
    let (user, session) = (new_user_id(), uuid::Uuid::new_v4().simple().to_string());
    Floors {
        ping: Samples::new(ping),
        ping_service_client: Samples::new(ping_service_client),
        ping_after_work,
        openssl: openssl_rsa2048(if n < 1000 { 1 } else { 2 }),
        rs256_sign: time_sync(warmup, n, || crypto.rs256_sign()),
        rs256_key_import: time_sync(warmup, n, || crypto.rs256_key_import()),
        rs256_sign_cached: time_sync(warmup, n, || crypto.rs256_sign_cached()),
        rs256_mint_service: time_sync(warmup, n, || {
            context
                .tokens
                .mint_id_token(&user, &session, &identity(), now_s)
                .unwrap()
        }),
        hmac_sign: time_sync(warmup, n, || crypto.hmac_sign()),
        hmac_verify: time_sync(warmup, n, || crypto.hmac_verify()),
        hs256_sign: time_sync(warmup, n, || crypto.hs256_sign()),
        hs256_verify: time_sync(warmup, n, || crypto.hs256_verify()),
        rs256_verify: time_sync(warmup, n, || crypto.rs256_verify()),
    }
}

/// The token crypto of the service, done with jsonwebtoken directly, with the
/// bench's keys and the service's claims and validation rules.
struct Crypto {
    rs_encoding: EncodingKey,
    rs_key_pair: RsaKeyPair,
    hmac_key: hmac::Key,
    /// `base64url(header).base64url(claims)` of a refresh token, and its HMAC tag.
    refresh_signing_input: String,
    refresh_tag: hmac::Tag,
    /// `base64url(header).base64url(claims)` of an id token: what RS256 signs.
    signing_input: String,
    rs_decoding: DecodingKey,
    hs_encoding: EncodingKey,
    hs_decoding: DecodingKey,
    rs_header: Header,
    hs_header: Header,
    id: IdClaims,
    refresh: RefreshClaims,
    id_token: String,
    refresh_token: String,
    id_validation: Validation,
    refresh_validation: Validation,
}

impl Crypto {
    fn new() -> Self {
        let keys = e2e::keys();
        let rs_encoding = EncodingKey::from_rsa_pem(keys.current_private_pem.as_bytes()).unwrap();
        let hs_encoding = EncodingKey::from_secret(&keys.refresh_secret);
        let mut rs_header = Header::new(Algorithm::RS256);
        rs_header.kid = Some(keys.current_kid.clone());
        let mut hs_header = Header::new(Algorithm::HS256);
        hs_header.kid = Some(keys.refresh_kid.clone());
        let (id, refresh) = (id_claims(), refresh_claims());
        let id_token = encode(&rs_header, &id, &rs_encoding).unwrap();
        let signing_input = id_token.rsplit_once('.').unwrap().0.to_string();
        let refresh_token = encode(&hs_header, &refresh, &hs_encoding).unwrap();
        let refresh_signing_input = refresh_token.rsplit_once('.').unwrap().0.to_string();
        let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, &keys.refresh_secret);
        Crypto {
            refresh_tag: hmac::sign(&hmac_key, refresh_signing_input.as_bytes()),
            hmac_key,
            refresh_signing_input,
            rs_key_pair: RsaKeyPair::from_der(rs_encoding.as_bytes()).unwrap(),
            signing_input,
            rs_decoding: DecodingKey::from_rsa_pem(keys.current_public_pem.as_bytes()).unwrap(),
            hs_decoding: DecodingKey::from_secret(&keys.refresh_secret),
            id_token,
            refresh_token,
            id_validation: validation(Algorithm::RS256, AUDIENCE),
            refresh_validation: validation(Algorithm::HS256, &format!("{ISSUER}/tokens")),
            rs_encoding,
            hs_encoding,
            rs_header,
            hs_header,
            id,
            refresh,
        }
    }

    fn rs256_sign(&self) -> String {
        encode(&self.rs_header, &self.id, &self.rs_encoding).unwrap()
    }

    /// What jsonwebtoken's aws-lc backend does before each RS256 signature.
    fn rs256_key_import(&self) -> RsaKeyPair {
        RsaKeyPair::from_der(self.rs_encoding.as_bytes()).unwrap()
    }

    fn rs256_sign_cached(&self) -> Vec<u8> {
        let mut signature = vec![0; self.rs_key_pair.public_modulus_len()];
        self.rs_key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                self.signing_input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        signature
    }

    fn hmac_sign(&self) -> hmac::Tag {
        hmac::sign(&self.hmac_key, self.refresh_signing_input.as_bytes())
    }

    fn hmac_verify(&self) -> bool {
        hmac::verify(
            &self.hmac_key,
            self.refresh_signing_input.as_bytes(),
            self.refresh_tag.as_ref(),
        )
        .is_ok()
    }

    fn hs256_sign(&self) -> String {
        encode(&self.hs_header, &self.refresh, &self.hs_encoding).unwrap()
    }

    fn hs256_verify(&self) -> RefreshClaims {
        decode::<RefreshClaims>(&self.refresh_token, &self.hs_decoding, &self.refresh_validation)
            .unwrap()
            .claims
    }

    fn rs256_verify(&self) -> IdClaims {
        decode::<IdClaims>(&self.id_token, &self.rs_decoding, &self.id_validation)
            .unwrap()
            .claims
    }
}

/// CPU time of one refresh's crypto (RS256 sign + HS256 sign + HS256 verify, p50s), measured now.
pub fn crypto_now(n: usize) -> Duration {
    let crypto = Crypto::new();
    time_sync(n / 10, n, || crypto.rs256_sign_cached()).p50()
        + time_sync(n / 10, n, || crypto.hs256_sign()).p50()
        + time_sync(n / 10, n, || crypto.hs256_verify()).p50()
}

/// One handler's latency, and the same work done step by step outside the handler.
struct Measured {
    handler: Samples,
    /// PING round trips measured in blocks alternating with the handler's, so that
    /// both see the same machine (this VM's timings drift by tens of percent).
    ping: Samples,
    /// Token verification and signing, timed on their own.
    crypto: Samples,
    /// The one Redis call, as the client sees it.
    redis_call: Samples,
    /// Mean run time of the script inside Redis (`INFO commandstats`), over the handler runs.
    script_in_redis: Duration,
    /// Bytes of log lines (the JSON request line, EMF metrics) per handler call.
    log_bytes: f64,
    /// CPU time of the redis-server process per Redis call of the step-by-step run
    /// (the command's parsing and I/O included).
    redis_cpu_per_call: Duration,
}

const BLOCKS: usize = 10;

async fn ping_block(connection: &mut MultiplexedConnection, count: usize, samples: &mut Vec<Duration>) {
    for _ in 0..count {
        let started = Instant::now();
        let _: String = redis::cmd("PING").query_async(connection).await.unwrap();
        samples.push(started.elapsed());
    }
}

async fn reset_stats(admin: &mut MultiplexedConnection) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(admin)
        .await
        .unwrap();
}

async fn evalsha_time(admin: &mut MultiplexedConnection) -> Duration {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(admin).await.unwrap();
    let us = info
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:"))
        .and_then(|stats| stats.split(',').find_map(|kv| kv.strip_prefix("usec_per_call=")))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    Duration::from_secs_f64(us / 1e6)
}

/// A refresh chain: each call presents the token the previous one returned.
async fn refresh(context: &'static SessionContext, admin: &mut MultiplexedConnection, n: usize) -> Measured {
    let mut token = open_session(context, &new_user_id(), false).await.refresh_token;
    for _ in 0..n / 10 {
        let (_, body) = read_response(&respond(context, refresh_request(&token), api::refresh::handle).await);
        token = refresh_token_of(&body);
    }
    reset_stats(admin).await;
    let logged = log_bytes();
    let (mut handler, mut ping) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        if i % (n / BLOCKS) == 0 {
            ping_block(admin, n / BLOCKS, &mut ping).await;
        }
        let request = refresh_request(&token);
        let started = Instant::now();
        let response = respond(context, request, api::refresh::handle).await;
        handler.push(started.elapsed());
        let (status, body) = read_response(&response);
        assert_eq!(status, 200, "refresh failed: {body}");
        token = refresh_token_of(&body);
    }
    let log_bytes = (log_bytes() - logged) as f64 / n as f64;
    let script_in_redis = evalsha_time(admin).await;

    // The same chain, step by step.
    let kid = context.tokens.refresh_kid().to_string();
    let mut claims = context
        .tokens
        .verify_refresh_token(&token, now_millis() / 1000)
        .unwrap();
    let (mut crypto, mut redis_call) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let cpu = redis_cpu(admin).await;
    for _ in 0..n {
        let now_ms = now_millis();
        let started = Instant::now();
        let verified = context.tokens.verify_refresh_token(&token, now_ms / 1000).unwrap();
        let verifying = started.elapsed();
        assert_eq!(verified.jti, claims.jti);

        let started = Instant::now();
        let rotation = context
            .whitelist
            .rotate(&claims, &kid, &Default::default(), now_ms)
            .await
            .unwrap();
        redis_call.push(started.elapsed());
        let shared::whitelist::Rotation::Rotated { grant, identity } = rotation else {
            panic!("not rotated")
        };

        let started = Instant::now();
        let pair = context.tokens.pair(&grant, &identity, now_ms / 1000).unwrap();
        crypto.push(verifying + started.elapsed());
        token = pair.refresh_token;
        (claims.jti, claims.iat, claims.exp) = (grant.jti, grant.issued_at, grant.expires_at);
    }
    let redis_cpu_per_call = (redis_cpu(admin).await - cpu) / n as u32;
    Measured {
        handler: Samples::new(handler),
        ping: Samples::new(ping),
        crypto: Samples::new(crypto),
        redis_call: Samples::new(redis_call),
        script_in_redis,
        log_bytes,
        redis_cpu_per_call,
    }
}

/// Times one handler call per token (each token is spent by its call, which must answer
/// 204), with blocks of PINGs interleaved so that both see the same machine.
async fn time_one_shot(
    admin: &mut MultiplexedConnection,
    tokens: Vec<String>,
    mut call: impl AsyncFnMut(String) -> lambda_http::Response<lambda_http::Body>,
) -> (Vec<Duration>, Vec<Duration>, f64) {
    let n = tokens.len();
    let logged = log_bytes();
    let (mut handler, mut ping) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, token) in tokens.into_iter().enumerate() {
        if i % (n / BLOCKS) == 0 {
            ping_block(admin, n / BLOCKS, &mut ping).await;
        }
        let started = Instant::now();
        let response = call(token).await;
        handler.push(started.elapsed());
        assert_eq!(response.status().as_u16(), 204, "the handler failed");
    }
    (handler, ping, (log_bytes() - logged) as f64 / n as f64)
}

async fn signout(context: &'static SessionContext, admin: &mut MultiplexedConnection, n: usize) -> Measured {
    let mut tokens = Vec::with_capacity(2 * n);
    for _ in 0..2 * n {
        tokens.push(open_session(context, &new_user_id(), false).await.refresh_token);
    }
    let steps = tokens.split_off(n);
    reset_stats(admin).await;
    let (handler, ping, log_bytes) = time_one_shot(admin, tokens, async |token| {
        respond(context, signout_request(&token), api::signout::handle).await
    })
    .await;
    let script_in_redis = evalsha_time(admin).await;

    let (mut crypto, mut redis_call) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let cpu = redis_cpu(admin).await;
    for token in steps {
        let started = Instant::now();
        let claims = context
            .tokens
            .verify_refresh_token(&token, now_millis() / 1000)
            .unwrap();
        crypto.push(started.elapsed());
        let started = Instant::now();
        assert!(context.whitelist.sign_out(&claims, now_millis()).await.unwrap());
        redis_call.push(started.elapsed());
    }
    let redis_cpu_per_call = (redis_cpu(admin).await - cpu) / n as u32;
    Measured {
        handler: Samples::new(handler),
        ping: Samples::new(ping),
        crypto: Samples::new(crypto),
        redis_call: Samples::new(redis_call),
        script_in_redis,
        log_bytes,
        redis_cpu_per_call,
    }
}

/// Users with a full house of sessions (the cap, 10), each revoked once.
async fn revoke_all(context: &'static SessionContext, admin: &mut MultiplexedConnection, n: usize) -> Measured {
    let mut id_tokens = Vec::with_capacity(2 * n);
    for _ in 0..2 * n {
        let user = new_user_id();
        for _ in 0..9 {
            open_session(context, &user, false).await;
        }
        id_tokens.push(open_session(context, &user, true).await.id_token);
    }
    let steps = id_tokens.split_off(n);
    reset_stats(admin).await;
    let (handler, ping, log_bytes) = time_one_shot(admin, id_tokens, async |token| {
        respond(context, revoke_all_request(&token), api::revoke_all::handle).await
    })
    .await;
    let script_in_redis = evalsha_time(admin).await;

    let (mut crypto, mut redis_call) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let cpu = redis_cpu(admin).await;
    for token in steps {
        let started = Instant::now();
        let claims = context.tokens.verify_id_token(&token, now_millis() / 1000).unwrap();
        crypto.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(
            context.whitelist.revoke_all(&claims.sub, now_millis()).await.unwrap(),
            10
        );
        redis_call.push(started.elapsed());
    }
    let redis_cpu_per_call = (redis_cpu(admin).await - cpu) / n as u32;
    Measured {
        handler: Samples::new(handler),
        ping: Samples::new(ping),
        crypto: Samples::new(crypto),
        redis_call: Samples::new(redis_call),
        script_in_redis,
        log_bytes,
        redis_cpu_per_call,
    }
}

/// CPU time the redis-server process has used (`INFO cpu`: user + system).
pub async fn redis_cpu(admin: &mut MultiplexedConnection) -> Duration {
    let info: String = redis::cmd("INFO").arg("cpu").query_async(admin).await.unwrap();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Duration::from_secs_f64(field("used_cpu_user:") + field("used_cpu_sys:"))
}

/// Mean run time of one GET of a small value inside Redis: the unit ElastiCache
/// Serverless prices simple commands in (1 ECPU), for the cost model.
async fn get_time_in_redis(admin: &mut MultiplexedConnection, n: usize) -> (Duration, Duration) {
    redis::cmd("SET")
        .arg("bench:get-baseline")
        .arg("0")
        .query_async::<()>(admin)
        .await
        .unwrap();
    reset_stats(admin).await;
    let cpu = redis_cpu(admin).await;
    for _ in 0..n {
        let _: String = redis::cmd("GET")
            .arg("bench:get-baseline")
            .query_async(admin)
            .await
            .unwrap();
    }
    let cpu = (redis_cpu(admin).await - cpu) / n as u32;
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(admin).await.unwrap();
    let us = info
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:"))
        .and_then(|stats| stats.split(',').find_map(|kv| kv.strip_prefix("usec_per_call=")))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    (Duration::from_secs_f64(us / 1e6), cpu)
}

/// The faster of two `openssl speed` runs (the stricter floor), or why there is none.
fn best_openssl(a: &Result<OpensslRsa, String>, b: Result<OpensslRsa, String>) -> Result<OpensslRsa, String> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(OpensslRsa {
            sign: a.sign.min(b.sign),
            verify: a.verify.min(b.verify),
            version: b.version,
            command: b.command,
        }),
        (Ok(a), Err(_)) => Ok(OpensslRsa {
            sign: a.sign,
            verify: a.verify,
            version: a.version.clone(),
            command: a.command.clone(),
        }),
        (Err(_), Ok(b)) => Ok(b),
        (Err(e), Err(_)) => Err(e.clone()),
    }
}

pub async fn run(
    scale: Scale,
    redis_url: &str,
    context: &'static SessionContext,
    floors: &Floors,
    record: &mut Record,
) -> Section {
    let mut admin = connect(redis_url).await;
    let refresh = refresh(context, &mut admin, scale.n(3000, 200)).await;
    let signout = signout(context, &mut admin, scale.n(2000, 200)).await;
    let revoke_all = revoke_all(context, &mut admin, scale.n(1000, 100)).await;
    let seconds = if scale.quick { 1 } else { 2 };
    let openssl = best_openssl(&floors.openssl, openssl_rsa2048(seconds));
    let (_, get_cpu) = get_time_in_redis(&mut admin, scale.n(3000, 300)).await;
    record.refresh = Some((refresh.handler.p50(), refresh.ping.p50()));
    record.rotate_redis_cpu = Some(refresh.redis_cpu_per_call);
    record.get_redis_cpu = Some(get_cpu);
    record.log_bytes.extend([
        ("refresh", refresh.log_bytes),
        ("sign-out", signout.log_bytes),
        ("revoke-all", revoke_all.log_bytes),
    ]);

    let mut section = Section::new("1. Handler latency against the physical floor");
    section.text(format!(
        "In process: `shared::runtime::respond(context, request, handler)` exactly as each function's `main` runs it \
         (JSON logs and EMF metric lines formatted, then counted and dropped), real `redis-server` on loopback, the event \
         already parsed into a `Request`. Refresh: a chain of {} rotations, each presenting the token the previous one \
         returned. Sign-out: {} sessions. Revoke-all: {} users holding 10 sessions each (the cap). Floors measured in the \
         same run, {} samples each; RSA by `openssl speed` itself (the faster of one run before and one after the handlers).",
        refresh.handler.len(),
        signout.handler.len(),
        revoke_all.handler.len(),
        floors.ping.len(),
    ));
    let sampled = |s: &Samples| (fmt_us(s.p50()), fmt_us(s.p99()));
    let mut floor_rows: Vec<(String, (String, String))> = vec![
        (
            "Redis PING round trip, back to back (redis-rs multiplexed): **floor**".into(),
            sampled(&floors.ping),
        ),
        (
            "Redis PING through the service's client (`RedisClient::run`)".into(),
            sampled(&floors.ping_service_client),
        ),
    ];
    for (gap, samples) in &floors.ping_after_work {
        floor_rows.push((
            format!("Redis PING right after {} of CPU work (not the floor)", fmt_us(*gap)),
            sampled(samples),
        ));
    }
    match &openssl {
        Ok(o) => floor_rows.extend([
            (
                format!("RSA-2048 signature, `{}` ({}; mean): **floor**", o.command, o.version),
                (fmt_us(o.sign), "–".into()),
            ),
            (
                "RSA-2048 verification, same run (mean): **floor**".into(),
                (fmt_us(o.verify), "–".into()),
            ),
        ]),
        Err(e) => floor_rows.push((format!("`openssl speed` failed: {e}"), ("–".into(), "–".into()))),
    }
    floor_rows.extend([
        (
            "RS256 id token as the service mints it (`Tokens::mint_id_token`: claims, JSON, base64url, signature with the \
             key pair imported once per instance)"
                .to_string(),
            sampled(&floors.rs256_mint_service),
        ),
        (
            "… of which the signature (AWS-LC `RsaKeyPair::sign`, same key pair, imported once)".into(),
            sampled(&floors.rs256_sign_cached),
        ),
        (
            "RS256 signature as jsonwebtoken makes it (not the floor: it imports the key each time)".into(),
            sampled(&floors.rs256_sign),
        ),
        (
            "… of which the RSA private key import (`RsaKeyPair::from_der`)".into(),
            sampled(&floors.rs256_key_import),
        ),
        (
            "HMAC-SHA256 of a refresh token's signing input (AWS-LC `hmac::sign`): **floor**".into(),
            sampled(&floors.hmac_sign),
        ),
        (
            "HMAC-SHA256 verification (AWS-LC `hmac::verify`): **floor**".into(),
            sampled(&floors.hmac_verify),
        ),
        (
            "HS256 refresh-token signature (jsonwebtoken, as the service)".into(),
            sampled(&floors.hs256_sign),
        ),
        (
            "HS256 refresh-token verification (jsonwebtoken, as the service: base64url, JSON, claims)".into(),
            sampled(&floors.hs256_verify),
        ),
        (
            "RS256 id-token verification (jsonwebtoken, as the service)".into(),
            sampled(&floors.rs256_verify),
        ),
    ]);
    section.table(
        &["floor component", "p50", "p99"],
        &floor_rows
            .iter()
            .map(|(name, (p50, p99))| vec![name.clone(), p50.clone(), p99.clone()])
            .collect::<Vec<_>>(),
    );

    // Each handler against the PING measured alongside it, plus what it cannot skip.
    // The floor is the fastest signature measured here: OpenSSL's, unless AWS-LC's own
    // is faster on this machine (a ratio under 1.0 would mean the floor was wrong).
    let (rsa_sign, rsa_verify) = match &openssl {
        Ok(o) => (Some(o.sign.min(floors.rs256_sign_cached.p50())), Some(o.verify)),
        Err(_) => (None, None),
    };
    let rsa_sign_by = match &openssl {
        Ok(o) if o.sign <= floors.rs256_sign_cached.p50() => "openssl",
        _ => "AWS-LC, faster here than openssl",
    };
    let floor = |m: &Measured, constant: Duration, parts: &[&Samples]| {
        let (c50, c99) = Floors::sum(parts);
        (m.ping.p50() + constant + c50, m.ping.p99() + constant + c99)
    };
    let zero = Duration::ZERO;
    let refresh_floor = rsa_sign.map(|s| floor(&refresh, s, &[&floors.hmac_sign, &floors.hmac_verify]));
    let signout_floor = floor(&signout, zero, &[&floors.hmac_verify]);
    let revoke_floor = rsa_verify.map(|v| floor(&revoke_all, v, &[]));
    let refresh_floor_name = format!("**PING + RSA-2048 sign ({rsa_sign_by}) + HMAC-SHA256 sign + verify**");
    let mut rows: Vec<(&str, &Measured, &str, (Duration, Duration))> = Vec::new();
    if let Some(f) = refresh_floor {
        rows.push(("refresh", &refresh, refresh_floor_name.as_str(), f));
    }
    rows.push((
        "refresh",
        &refresh,
        "PING + the service's own token crypto (`mint_id_token` + HS256 sign + HS256 verify; not the floor)",
        floor(
            &refresh,
            zero,
            &[&floors.rs256_mint_service, &floors.hs256_sign, &floors.hs256_verify],
        ),
    ));
    rows.push(("sign-out", &signout, "PING", floor(&signout, zero, &[])));
    rows.push(("sign-out", &signout, "**PING + HMAC-SHA256 verify**", signout_floor));
    rows.push(("revoke-all", &revoke_all, "PING", floor(&revoke_all, zero, &[])));
    if let Some(f) = revoke_floor {
        rows.push(("revoke-all", &revoke_all, "**PING + RSA-2048 verify (openssl)**", f));
    }
    section.text(
        "The PING of each handler's floor is measured in blocks alternating with that handler's calls (10 blocks each), \
         so that both see the same machine; the other parts are the p50/p99 of the table above (openssl's mean in both).",
    );
    section.table(
        &[
            "handler",
            "p50",
            "p99",
            "floor",
            "floor p50",
            "floor p99",
            "p50 / floor",
            "p99 / floor",
        ],
        &rows
            .iter()
            .map(|(name, m, floor, (f50, f99))| {
                vec![
                    name.to_string(),
                    fmt_us(m.handler.p50()),
                    fmt_us(m.handler.p99()),
                    floor.to_string(),
                    fmt_us(*f50),
                    fmt_us(*f99),
                    fmt_ratio(ratio(m.handler.p50(), *f50)),
                    fmt_ratio(ratio(m.handler.p99(), *f99)),
                ]
            })
            .collect::<Vec<_>>(),
    );

    section.text(
        "Where the time goes: the handler's own steps called one by one (token crypto: verification, plus minting the new \
         pair for refresh; the one Redis call through the service's client), the script's run time inside Redis during the \
         handler runs, and what is left for the HTTP edge (JSON body in and out, response, one JSON log line, one EMF \
         metric line for refresh and revoke-all; the steps are timed apart from the handler, so their p50s need not add \
         up to its p50, and \"rest\" is 0 when they exceed it):",
    );
    let breakdown: Vec<Vec<String>> = [
        ("refresh", &refresh),
        ("sign-out", &signout),
        ("revoke-all", &revoke_all),
    ]
    .iter()
    .map(|(name, m)| {
        let rest = m.handler.p50().saturating_sub(m.crypto.p50() + m.redis_call.p50());
        vec![
            name.to_string(),
            fmt_us(m.handler.p50()),
            fmt_us(m.crypto.p50()),
            fmt_us(m.redis_call.p50()),
            fmt_us(m.ping.p50()),
            fmt_us(m.script_in_redis),
            fmt_us(rest),
            format!("{:.0} B", m.log_bytes),
        ]
    })
    .collect();
    section.table(
        &[
            "handler",
            "p50",
            "token crypto p50",
            "Redis call p50",
            "PING p50",
            "script run time inside Redis (mean)",
            "rest (HTTP edge, JSON, log)",
            "log bytes per call",
        ],
        &breakdown,
    );

    let mut reading = String::from("**Reading.** ");
    if let (Some((f50, _)), Some(sign)) = (refresh_floor, rsa_sign) {
        let r = ratio(refresh.handler.p50(), f50);
        let rest = refresh
            .handler
            .p50()
            .saturating_sub(refresh.crypto.p50() + refresh.redis_call.p50());
        reading.push_str(&format!(
            "A refresh takes {} at p50, {:.2}× its floor of {} (PING {} + openssl's RSA signature {} + HMAC {} + {}). \
             Its own token crypto takes {}: the id token as the service mints it costs {}, of which AWS-LC's signature \
             is {} ({:.2}× openssl's); the rest is claims, JSON and base64url. Its one Redis call takes {}: the round trip, \
             `rotate.lua` itself ({} inside Redis) and the wake-up of an idle Redis thread after CPU work (see the PINGs \
             after CPU work above). {} is left for the HTTP edge: the event's JSON body, the response, the JSON log line \
             and the EMF metric line. ",
            fmt_us(refresh.handler.p50()),
            r,
            fmt_us(f50),
            fmt_us(refresh.ping.p50()),
            fmt_us(sign),
            fmt_us(floors.hmac_sign.p50()),
            fmt_us(floors.hmac_verify.p50()),
            fmt_us(refresh.crypto.p50()),
            fmt_us(floors.rs256_mint_service.p50()),
            fmt_us(floors.rs256_sign_cached.p50()),
            ratio(floors.rs256_sign_cached.p50(), sign),
            fmt_us(refresh.redis_call.p50()),
            fmt_us(refresh.script_in_redis),
            fmt_us(rest),
        ));
        if r > 1.5 {
            let beyond_floor = refresh.handler.p50().saturating_sub(f50);
            reading.push_str(&format!(
                "So the refresh misses 1.5×: beyond its floor it spends {}. ",
                fmt_us(beyond_floor)
            ));
        }
        reading.push_str(
            "AWS-LC signs with its AVX-512 IFMA code on this CPU, as OpenSSL does: x86_64 builds leave AWS-LC's \
             OPENSSL_SMALL off (`.cargo/config.toml`), which would otherwise drop that code (2.3× slower signatures \
             here). The arm64 functions keep OPENSSL_SMALL: on arm64 it does not touch RSA, and it saves 0.84 MiB \
             per binary (section 5). ",
        );
    }
    let after_work = floors
        .ping_after_work
        .last()
        .map(|(gap, s)| format!("{} after {} of CPU work", fmt_us(s.p50()), fmt_us(*gap)))
        .unwrap_or_default();
    reading.push_str(&format!(
        "Sign-out and revoke-all are held to one bare loopback round trip ({} and {} here, each measured alongside) plus \
         the check they must do (an HMAC verification, {}; an RSA verification, {}), so everything else they do shows: \
         the script's own work inside Redis (sign-out removes one field of the user's hash: {}; \
         revoke-all checks that the asking session is live, counts the user's live sessions, deletes the hash and leaves a one-minute marker against sign-ins in flight: {}), jsonwebtoken's parsing around the \
         signature check ({} for sign-out's HS256, {} for revoke-all's RS256), and the HTTP edge with its log line. Round \
         trips that follow CPU work are also slower than back-to-back PINGs on this 2-core VM ({} against {} back to \
         back: idle threads and vCPUs take time to wake), which is why each handler's Redis call costs more than PING \
         plus the script's run time. ",
        fmt_us(signout.ping.p50()),
        fmt_us(revoke_all.ping.p50()),
        fmt_us(floors.hmac_verify.p50()),
        rsa_verify.map(fmt_us).unwrap_or_else(|| "not measured".into()),
        fmt_us(signout.script_in_redis),
        fmt_us(revoke_all.script_in_redis),
        fmt_us(floors.hs256_verify.p50()),
        fmt_us(floors.rs256_verify.p50()),
        after_work,
        fmt_us(floors.ping.p50()),
    ));
    // What the same fixed costs would weigh against a real network round trip.
    let network = Duration::from_micros(300);
    let projected =
        |m: &Measured, check: Duration| ratio(m.handler.p50().saturating_sub(m.ping.p50()) + network, network + check);
    let missed: Vec<&str> = [
        ("sign-out", &signout, Some(signout_floor)),
        ("revoke-all", &revoke_all, revoke_floor),
    ]
    .iter()
    .filter(|(_, m, f)| f.is_some_and(|(f50, _)| ratio(m.handler.p50(), f50) > 1.5))
    .map(|(name, ..)| *name)
    .collect();
    reading.push_str(&match missed.as_slice() {
        [] => "Both stay within 1.5× of that floor in this run.".to_string(),
        names => format!(
            "So {} {} 1.5× of that floor, and no change removes the reasons: each must run one script (sign-out an atomic \
             check-and-delete that tells the current token from a replayed one; revoke-all checks the asking session \
             and removes the rest), whose run time inside Redis alone is a fifth to a third of a loopback round trip, \
             and the edge (JSON in and out, the log line) is the rest. Against a network round trip the same fixed costs fade: with a 300 µs \
             round trip to ElastiCache, sign-out would be about {:.2}× and revoke-all {:.2}× their floor (projection: \
             (p50 − PING + 300 µs) / (300 µs + the check)).",
            names.join(" and "),
            if names.len() == 1 { "misses" } else { "miss" },
            projected(&signout, floors.hmac_verify.p50()),
            projected(&revoke_all, rsa_verify.unwrap_or_default()),
        ),
    });
    section.text(reading);

    section.text(format!(
        "The service signs as cheaply as AWS-LC allows: it imports its RSA key pair once per instance (`shared/src/keys.rs`, \
         a `OnceLock` filled once by `Tokens::ready_to_sign`) and signs the JWS itself (`sign_rs256` in \
         `shared/src/tokens.rs`), so its id token costs {} where AWS-LC's bare signature with the same key pair costs {} \
         (the difference, {}, is the claims' JSON, base64url and a uuid). jsonwebtoken instead re-imports and checks the \
         private key inside every signature ({} alone), {} in all. What is left between AWS-LC's signature and the fastest \
         one measured ({}) is AWS-LC's code against OpenSSL's.",
        fmt_us(floors.rs256_mint_service.p50()),
        fmt_us(floors.rs256_sign_cached.p50()),
        fmt_us(
            floors
                .rs256_mint_service
                .p50()
                .saturating_sub(floors.rs256_sign_cached.p50())
        ),
        fmt_us(floors.rs256_key_import.p50()),
        fmt_us(floors.rs256_sign.p50()),
        rsa_sign.map(fmt_us).unwrap_or_else(|| "not measured".into()),
    ));

    for (name, m, floor, what) in [
        (
            "refresh",
            &refresh,
            refresh_floor,
            "PING + RSA sign (openssl) + HMAC sign + verify",
        ),
        ("sign-out", &signout, Some(signout_floor), "PING + HMAC verify"),
        ("revoke-all", &revoke_all, revoke_floor, "PING + RSA verify (openssl)"),
    ] {
        match floor {
            Some((f50, _)) => {
                let r = ratio(m.handler.p50(), f50);
                section.goal(Goal::new(
                    format!("{name} p50 / floor ({what})"),
                    fmt_ratio(r),
                    "≤ 1.5×",
                    r <= 1.5,
                ));
            }
            None => {
                section.goal(Goal::new(
                    format!("{name} p50 / floor ({what})"),
                    "not measured (openssl failed)",
                    "≤ 1.5×",
                    false,
                ));
            }
        }
    }
    section
}
