//! (6) Throughput of one refresh "instance" (one context, one Redis connection, the
//! tokio runtime of a function's `main`) under 50 concurrent clients, against the
//! ceiling `redis-benchmark -t ping -c 50` measures on the same server in the same run.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::api;
use shared::context::SessionContext;
use shared::runtime::respond;

use crate::harness::*;
use crate::report::Section;

const CLIENTS: usize = 50;

/// Requests per second of the `PING_MBULK` test (the form redis-rs sends).
fn redis_benchmark(port: u16, requests: usize) -> Result<(f64, f64), String> {
    let output = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "ping",
            "-c",
            &CLIENTS.to_string(),
            "-n",
            &requests.to_string(),
            "-q",
        ])
        .output()
        .map_err(|e| format!("redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).replace('\r', "\n");
    let rps = |test: &str| {
        text.lines()
            .rfind(|l| l.starts_with(test) && l.contains("requests per second"))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    match (rps("PING_INLINE"), rps("PING_MBULK")) {
        (Some(inline), Some(mbulk)) => Ok((inline, mbulk)),
        _ => Err(format!("cannot read redis-benchmark's output: {text}")),
    }
}

pub async fn run(scale: Scale, redis_port: u16, context: &'static SessionContext) -> Section {
    let duration = Duration::from_secs(scale.n(8, 2) as u64);
    let completed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tokens = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        tokens.push(open_session(context, &new_user_id(), false).await.refresh_token);
    }
    let mut admin = connect(&format!("redis://127.0.0.1:{redis_port}")).await;
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = Vec::new();
    for mut token in tokens {
        let (completed, failed) = (completed.clone(), failed.clone());
        // Each client chains its own session; building the request (parsing the
        // API Gateway event) is counted, as the Lambda runtime does it too.
        clients.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let response = respond(context, refresh_request(&token), api::refresh::handle).await;
                let (status, body) = read_response(&response);
                if status == 200 {
                    token = refresh_token_of(&body);
                    completed.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let elapsed = started.elapsed();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut admin)
        .await
        .unwrap();
    let script_us: f64 = info
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:"))
        .and_then(|stats| stats.split(',').find_map(|kv| kv.strip_prefix("usec=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let redis_busy = script_us / 1e6 / elapsed.as_secs_f64();
    let refreshes = completed.load(Ordering::Relaxed);
    let refresh_rps = refreshes as f64 / elapsed.as_secs_f64();
    let ceiling = redis_benchmark(redis_port, scale.n(100_000, 20_000));

    // The crypto measured again now: this VM's speed drifts between sections.
    let crypto = crate::latency::crypto_now(scale.n(300, 50));
    let crypto_rps = RUNTIME_THREADS as f64 / crypto.as_secs_f64();
    let mut section = Section::new("6. Throughput of one refresh instance");
    section.text(format!(
        "One `SessionContext` (one multiplexed Redis connection) on the current-thread tokio runtime of a function's \
         `main` (one thread: Lambda hands an instance one event at a time), {CLIENTS} client tasks each refreshing its \
         own session in a loop for {:.0} s. Ceiling: `redis-benchmark -t ping -c {CLIENTS} -n {} -q` against the same \
         redis-server right after.",
        duration.as_secs_f64(),
        scale.n(100_000, 20_000),
    ));
    let failures = failed.load(Ordering::Relaxed);
    let mut rows = vec![vec![
        format!("refresh handler, {CLIENTS} concurrent clients"),
        format!("{refresh_rps:.0}/s"),
        format!("{} refreshes, {failures} failures", fmt_count(refreshes)),
    ]];
    match &ceiling {
        Ok((inline, mbulk)) => {
            rows.push(vec![
                "redis-benchmark PING_MBULK (ceiling)".into(),
                format!("{mbulk:.0}/s"),
                String::new(),
            ]);
            rows.push(vec![
                "redis-benchmark PING_INLINE".into(),
                format!("{inline:.0}/s"),
                String::new(),
            ]);
            rows.push(vec![
                "refresh / PING_MBULK ceiling".into(),
                fmt_ratio(refresh_rps / mbulk),
                String::new(),
            ]);
        }
        Err(e) => rows.push(vec![
            "redis-benchmark".into(),
            "failed".into(),
            e.lines().next().unwrap_or("").into(),
        ]),
    }
    rows.push(vec![
        format!(
            "crypto ceiling: {RUNTIME_THREADS} thread / (RS256 sign with the key pair imported once, as the service signs, \
             + HS256 sign + HS256 verify; p50 right after the run)"
        ),
        format!("{crypto_rps:.0}/s"),
        format!("refresh reaches {:.0}% of it", 100.0 * refresh_rps / crypto_rps),
    ]);
    section.table(&["", "throughput", ""], &rows);
    if let Ok((_, mbulk)) = ceiling {
        section.text(format!(
            "**Reading.** The instance reaches {:.1}% of the PING ceiling because a refresh is bound by CPU, not by Redis: \
             its signatures cost {} of CPU while a PING costs Redis about a microsecond, so one thread caps it \
             at about {crypto_rps:.0} refreshes per second whatever Redis does. Redis spent {:.1}% of the run executing \
             the rotation scripts. In Lambda an instance serves one request at a time, and throughput comes from more \
             instances sharing one Redis.",
            100.0 * refresh_rps / mbulk,
            fmt_us(crypto),
            100.0 * redis_busy,
        ));
    }
    section
}
