//! The anatomy of a cold start: the bench re-runs itself with `--probe-first-use`
//! as a fresh process that times the first use of each piece of token crypto a
//! function's first request needs, then the same operation again.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::keys::KeySet;
use shared::time::now_millis;
use shared::tokens::{RefreshGrant, Tokens};

use crate::harness::*;

pub const FLAG: &str = "--probe-first-use";
const KEYS_VAR: &str = "BENCH_PROBE_AUTH_KEYS";
const TOKEN_VAR: &str = "BENCH_PROBE_ID_TOKEN";

/// The steps, in the order the child runs them: verification and HMAC use no
/// randomness; the first RS256 signature is the first use of the random generator.
pub const STEPS: [(&str, &str); 8] = [
    (
        "parse_keys",
        "parse the key document (the RSA key's public half only; every function)",
    ),
    (
        "rsa_private_import",
        "import the RSA signing key pair (`ready_to_sign`: refresh at start-up; sign-in and sign-up beside their first password hash)",
    ),
    ("hs256_sign", "first HS256 signature"),
    ("rs256_verify", "first RS256 verification"),
    (
        "rs256_sign_first",
        "first RS256 signature (first use of AWS-LC's random generator)",
    ),
    ("rs256_sign_second", "second RS256 signature"),
    (
        "users_client_first",
        "the DynamoDB client, as sign-in and the other users functions build it at init (`UserStore::new`: HTTPS \
         client, the CA bundle `SSL_CERT_FILE` names)",
    ),
    ("users_client_second", "… a second one in the same process"),
];

fn micros(d: Duration) -> Value {
    json!(d.as_secs_f64() * 1e6)
}

/// The child process: prints one JSON object of microseconds per step.
pub fn child() {
    let keys_json = std::env::var(KEYS_VAR).expect("the key document");
    let id_token = std::env::var(TOKEN_VAR).expect("an id token");
    let started = Instant::now();
    let keys = KeySet::from_json(&keys_json).expect("valid keys");
    let parse_keys = started.elapsed();
    let tokens = Tokens::new(&settings_with_keys("redis://127.0.0.1:6379", keys_json), keys);
    let started = Instant::now();
    tokens.ready_to_sign().expect("an RSA signing key");
    let rsa_private_import = started.elapsed();
    let now_s = now_millis() / 1000;
    let grant = RefreshGrant {
        user_id: new_user_id(),
        session_id: "0".repeat(32),
        jti: "1".repeat(32),
        issued_at: now_s,
        expires_at: now_s + 3600,
        kid: tokens.refresh_kid().to_string(),
    };
    let time = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed()
    };
    let hs256_sign = time(&|| drop(tokens.mint_refresh_token(&grant).unwrap()));
    let rs256_verify = time(&|| drop(tokens.verify_id_token(&id_token, now_s).unwrap()));
    let rs256_sign_first = time(&|| {
        drop(
            tokens
                .mint_id_token(&grant.user_id, &grant.session_id, &identity(), now_s)
                .unwrap(),
        )
    });
    let settings = settings_with_keys("redis://127.0.0.1:6379", std::env::var(KEYS_VAR).unwrap());
    let users_client = || {
        let started = Instant::now();
        drop(shared::users::UserStore::new(&settings.dynamodb, &settings.aws).expect("a DynamoDB client"));
        started.elapsed()
    };
    let rs256_sign_second = time(&|| {
        drop(
            tokens
                .mint_id_token(&grant.user_id, &grant.session_id, &identity(), now_s)
                .unwrap(),
        )
    });
    println!(
        "{}",
        json!({
            "parse_keys": micros(parse_keys),
            "rsa_private_import": micros(rsa_private_import),
            "hs256_sign": micros(hs256_sign),
            "rs256_verify": micros(rs256_verify),
            "rs256_sign_first": micros(rs256_sign_first),
            "rs256_sign_second": micros(rs256_sign_second),
            "users_client_first": micros(users_client()),
            "users_client_second": micros(users_client()),
        })
    );
}

/// Samples of one step of the probe, by its key in [`STEPS`].
pub fn step<'a>(steps: &'a [Samples], key: &str) -> &'a Samples {
    &steps[STEPS.iter().position(|(k, _)| *k == key).expect("a probe step")]
}

/// Runs the probe in `runs` fresh processes; samples per step, in [`STEPS`] order.
pub fn measure(runs: usize, keys_json: &str, id_token: &str) -> Result<Vec<Samples>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut steps: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    for _ in 0..runs {
        let output = Command::new(&exe)
            .arg(FLAG)
            .env_clear()
            .env(KEYS_VAR, keys_json)
            .env(TOKEN_VAR, id_token)
            .envs(crate::cold_start::ca_bundle().map(|b| ("SSL_CERT_FILE", b)))
            .output()
            .map_err(|e| e.to_string())?;
        let report: Value = serde_json::from_slice(&output.stdout)
            .map_err(|_| format!("probe failed: {}", String::from_utf8_lossy(&output.stderr)))?;
        for (i, (key, _)) in STEPS.iter().enumerate() {
            let us = report[key]
                .as_f64()
                .ok_or_else(|| format!("probe did not report {key}"))?;
            steps[i].push(Duration::from_secs_f64(us / 1e6));
        }
    }
    Ok(steps.into_iter().map(Samples::new).collect())
}
