//! (5) Cold start: from exec of a function's release binary to its first request
//! served, under the Runtime API stub, against a hello-world `lambda_http` binary
//! measured the same way; and the size of every function's release binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::context::SessionContext;

use crate::harness::*;
use crate::probe::step;
use crate::report::{Goal, Section};
use crate::runtime_stub::Stub;

/// Every function of the workspace, in template order.
pub const FUNCTIONS: [&str; 9] = [
    "signup",
    "signin",
    "refresh",
    "signout",
    "revoke-all",
    "sessions",
    "jwks",
    "authorizer",
    "me",
];

/// The users table, when DynamoDB Local could be started (sign-up and sign-in need it).
pub struct Users {
    pub endpoint: String,
    pub table: String,
    /// A user that exists, for sign-in.
    pub email: String,
}

pub struct Services<'a> {
    pub redis_url: &'a str,
    pub redis_admin: redis::aio::MultiplexedConnection,
    pub context: &'static SessionContext,
    pub users: Option<Users>,
    pub log_dir: PathBuf,
}

/// What the stub hands the function, and how to tell that it served it.
struct Invocation {
    event: Value,
    expect: Expect,
}

enum Expect {
    Status(u16),
    Authorized,
}

impl Expect {
    fn check(&self, response: &Value) -> bool {
        match self {
            Expect::Status(status) => response["statusCode"].as_u64() == Some(u64::from(*status)),
            Expect::Authorized => response["isAuthorized"] == json!(true),
        }
    }
}

fn http(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>, source_ip: &str) -> Value {
    e2e::event(method, path, headers, body, source_ip)
}

async fn invocation(function: &str, services: &Services<'_>, run: usize) -> Invocation {
    let context = services.context;
    let json_headers = [("content-type", "application/json"), ("user-agent", USER_AGENT)];
    let session = || async { open_session(context, &new_user_id(), true).await };
    let bearer = |token: &str| format!("Bearer {token}");
    match function {
        "hello" => Invocation {
            event: http("GET", "/hello", &[], None, IP),
            expect: Expect::Status(200),
        },
        "jwks" => Invocation {
            event: http("GET", "/.well-known/jwks.json", &[], None, IP),
            expect: Expect::Status(200),
        },
        "me" => {
            let token = session().await.id_token;
            Invocation {
                event: http("GET", "/me", &[("authorization", &bearer(&token))], None, IP),
                expect: Expect::Status(200),
            }
        }
        "refresh" | "signout" => {
            let token = session().await.refresh_token;
            let path = if function == "refresh" { "/tokens" } else { "/signout" };
            let body = json!({ "refreshToken": token }).to_string();
            let status = if function == "refresh" { 200 } else { 204 };
            Invocation {
                event: http("POST", path, &json_headers, Some(&body), IP),
                expect: Expect::Status(status),
            }
        }
        "revoke-all" => {
            let token = session().await.id_token;
            Invocation {
                event: http("POST", "/revoke-all", &[("authorization", &bearer(&token))], None, IP),
                expect: Expect::Status(204),
            }
        }
        "sessions" => {
            let token = session().await.id_token;
            Invocation {
                event: http("GET", "/sessions", &[("authorization", &bearer(&token))], None, IP),
                expect: Expect::Status(200),
            }
        }
        "authorizer" => {
            let token = session().await.id_token;
            let mut event = http("GET", "/me/strict", &[("authorization", &bearer(&token))], None, IP);
            event["type"] = json!("REQUEST");
            event["identitySource"] = json!([bearer(&token)]);
            event["routeArn"] = json!("arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/me/strict");
            Invocation {
                event,
                expect: Expect::Authorized,
            }
        }
        "signin" => {
            let users = services.users.as_ref().expect("DynamoDB Local");
            let body = json!({ "email": users.email, "password": e2e::PASSWORD }).to_string();
            // One source address per run: the per-address sign-in limit is not what is measured.
            let ip = format!("198.51.100.{}", run % 250 + 1);
            Invocation {
                event: http("POST", "/signin", &json_headers, Some(&body), &ip),
                expect: Expect::Status(200),
            }
        }
        "signup" => {
            let body = json!({ "email": e2e::unique_email(), "password": e2e::PASSWORD }).to_string();
            Invocation {
                event: http("POST", "/signup", &json_headers, Some(&body), IP),
                expect: Expect::Status(201),
            }
        }
        other => panic!("no invocation for {other}"),
    }
}

/// The environment Lambda gives a function, plus the service's configuration.
fn environment(function: &str, runtime_api: &str, services: &Services<'_>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[1]bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function}")),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_SESSION_TOKEN", "local"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TZ", ":UTC"),
        ("ISSUER", ISSUER),
        ("ID_TOKEN_AUDIENCE", AUDIENCE),
        ("REDIS_URL", services.redis_url),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("AUTH_KEYS".into(), services.context.settings.keys_json.clone()));
    if let Some(users) = &services.users {
        env.push(("USERS_TABLE".into(), users.table.clone()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), users.endpoint.clone()));
    }
    if let Ok(path) = std::env::var("PATH") {
        env.push(("PATH".into(), path));
    }
    env
}

struct Run {
    init: Duration,
    served: Duration,
}

fn spawn(binary: &Path, env: &[(String, String)], log: &Path) -> std::process::Child {
    let log = std::fs::File::create(log).expect("a log file for the function");
    Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot exec {}: {e}", binary.display()))
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

async fn run_once(function: &str, binary: &Path, services: &Services<'_>, run: usize) -> Result<Run, String> {
    let invocation = invocation(function, services, run).await;
    let mut stub = Stub::start(function, Some(invocation.event.to_string())).await;
    let log = services.log_dir.join(format!("{function}-{run}.log"));
    let env = environment(function, &stub.address, services);
    let started = Instant::now();
    let child = spawn(binary, &env, &log);
    let outcome = tokio::time::timeout(Duration::from_secs(15), async {
        ((&mut stub.init).await, (&mut stub.posted).await)
    })
    .await;
    stop(child);
    let log_tail = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (Ok(init_at), Ok(posted)) =
        outcome.map_err(|_| format!("{function}: no response within 15 s\n{}", log_tail()))?
    else {
        return Err(format!("{function}: the runtime stub closed\n{}", log_tail()));
    };
    let response: Value = serde_json::from_str(&posted.body).unwrap_or(Value::Null);
    if posted.error || !invocation.expect.check(&response) {
        return Err(format!(
            "{function}: unexpected response {}\n{}",
            posted.body,
            log_tail()
        ));
    }
    Ok(Run {
        init: init_at - started,
        served: posted.at - started,
    })
}

async fn redis_connections_received(admin: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query_async(admin).await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Starts the function with no work to hand out and counts the Redis connections
/// it opened by the time it asked for its first event: initialization should open none.
async fn redis_connections_during_init(
    function: &str,
    binary: &Path,
    services: &mut Services<'_>,
) -> Result<u64, String> {
    let mut stub = Stub::start(function, None).await;
    let env = environment(function, &stub.address, services);
    let log = services.log_dir.join(format!("{function}-init.log"));
    let before = redis_connections_received(&mut services.redis_admin).await;
    let child = spawn(binary, &env, &log);
    let reached = tokio::time::timeout(Duration::from_secs(15), &mut stub.init).await;
    // Whatever init was going to open, it had opened before asking for work.
    let after = redis_connections_received(&mut services.redis_admin).await;
    stop(child);
    match reached {
        Ok(Ok(_)) => Ok(after - before),
        _ => Err(format!("{function} did not finish initializing")),
    }
}

struct Measured {
    name: String,
    init: Samples,
    served: Samples,
    init_connections: Option<u64>,
}

pub async fn run(scale: Scale, bin_dir: &Path, mut services: Services<'_>) -> Section {
    let runs = scale.n(20, 3);
    let mut section = Section::new("5. Cold start and binary size");
    let mut skipped = Vec::new();
    let mut binaries: Vec<(&str, PathBuf)> = Vec::new();
    for function in std::iter::once("hello").chain(FUNCTIONS) {
        let binary = bin_dir.join(function);
        if !binary.exists() {
            skipped.push(format!(
                "`{function}`: no release binary at {} (build it first)",
                binary.display()
            ));
        } else if matches!(function, "signin" | "signup") && services.users.is_none() {
            skipped.push(format!(
                "`{function}`: needs DynamoDB Local, which could not be started"
            ));
        } else {
            binaries.push((function, binary));
        }
    }
    // Round-robin, so that the machine's drift weighs on every binary alike; the
    // first round fills the page cache and is not counted.
    let mut results: Vec<Vec<Run>> = binaries.iter().map(|_| Vec::new()).collect();
    let mut failed: Vec<bool> = binaries.iter().map(|_| false).collect();
    for round in 0..=runs {
        for (i, (function, binary)) in binaries.iter().enumerate() {
            if failed[i] {
                continue;
            }
            match run_once(function, binary, &services, round).await {
                Ok(run) if round > 0 => results[i].push(run),
                Ok(_) => {}
                Err(error) => {
                    eprintln!("cold start of {function} failed: {error}");
                    skipped.push(format!("`{function}`: failed ({})", error.lines().next().unwrap_or("")));
                    failed[i] = true;
                }
            }
        }
    }
    let mut measured: Vec<Measured> = Vec::new();
    for (i, (function, binary)) in binaries.iter().enumerate() {
        if failed[i] {
            continue;
        }
        let uses_redis = !matches!(*function, "hello" | "jwks" | "me");
        let init_connections = if uses_redis {
            redis_connections_during_init(function, binary, &mut services)
                .await
                .ok()
        } else {
            None
        };
        measured.push(Measured {
            name: function.to_string(),
            init: Samples::new(results[i].iter().map(|r| r.init).collect()),
            served: Samples::new(results[i].iter().map(|r| r.served).collect()),
            init_connections,
        });
    }

    section.text(format!(
        "Each function's release binary is exec'd with Lambda's environment (256 MB, `AWS_LAMBDA_RUNTIME_API` \
         pointing at a stub of the Runtime API on loopback written for the bench) and handed one real request: a fresh \
         session's token for the session endpoints, a correct sign-in, a new sign-up. *init* = exec until the first \
         `GET /runtime/invocation/next` (what Lambda reports as Init Duration); *first request* = exec until the response \
         is posted. p50 of {runs} rounds, each running every binary once in turn, after one uncounted round; the baseline is `bench/src/bin/hello.rs`, \
         a hello-world `lambda_http` function built with the same release profile. `Redis connections at init`: \
         connections the function had opened when it asked for its first event (should be 0: clients are lazy)."
    ));
    let hello = measured
        .iter()
        .find(|m| m.name == "hello")
        .map(|m| (m.init.p50(), m.served.p50()));
    let rows: Vec<Vec<String>> = measured
        .iter()
        .map(|m| {
            let (init_ratio, served_ratio) = match hello {
                Some((init, served)) => (
                    fmt_ratio(ratio(m.init.p50(), init)),
                    fmt_ratio(ratio(m.served.p50(), served)),
                ),
                None => ("n/a".into(), "n/a".into()),
            };
            vec![
                format!("`{}`", m.name),
                fmt_ms(m.init.p50()),
                fmt_ms(m.served.p50()),
                fmt_ms(m.served.max()),
                init_ratio,
                served_ratio,
                m.init_connections.map(|c| c.to_string()).unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    section.table(
        &[
            "binary",
            "init p50",
            "first request p50",
            "first request max",
            "init / hello",
            "first request / hello",
            "Redis connections at init",
        ],
        &rows,
    );
    for skip in &skipped {
        section.text(format!("Not measured: {skip}."));
    }
    if let Some((_, hello_served)) = hello {
        for m in measured.iter().filter(|m| m.name != "hello") {
            let r = ratio(m.served.p50(), hello_served);
            section.goal(Goal::new(
                format!("cold start `{}` / hello-world", m.name),
                fmt_ratio(r),
                "≤ 1.5×",
                r <= 1.5,
            ));
        }
    }
    if let Some(m) = measured.iter().find(|m| m.init_connections.is_some_and(|c| c > 0)) {
        section.text(format!(
            "**`{}` opened Redis connections during initialization.**",
            m.name
        ));
    }
    let id_token = open_session(services.context, &new_user_id(), true).await.id_token;
    match crate::probe::measure(runs, &services.context.settings.keys_json, &id_token) {
        Ok(steps) => {
            section.text(format!(
                "Where a first request's extra time goes: the bench re-runs itself (`bench {}`) as {runs} fresh processes, \
                 each timing the first use of the token crypto, in this order, with the same key document:",
                crate::probe::FLAG
            ));
            let rows: Vec<Vec<String>> = crate::probe::STEPS
                .iter()
                .zip(&steps)
                .map(|((_, what), s)| vec![what.to_string(), fmt_us(s.p50()), fmt_us(s.max())])
                .collect();
            section.table(&["step in a fresh process", "p50", "max"], &rows);
            section.text(reading(&measured, &steps));
        }
        Err(e) => {
            section.text(format!("The first-use probe failed: {e}"));
        }
    }
    sizes(&mut section, bin_dir);
    section
}

/// What the cold-start figures say, from this run's numbers.
fn reading(measured: &[Measured], probe: &[Samples]) -> String {
    let hello = measured.iter().find(|m| m.name == "hello");
    let find = |name: &str| measured.iter().find(|m| m.name == name);
    let mut text = String::from("**Reading.** ");
    if let Some(hello) = hello {
        let session_functions: Vec<&Measured> = measured
            .iter()
            .filter(|m| !matches!(m.name.as_str(), "hello" | "signin" | "signup"))
            .collect();
        let ratios: Vec<f64> = session_functions
            .iter()
            .map(|m| ratio(m.init.p50(), hello.init.p50()))
            .collect();
        if let (Some(min), Some(max)) = (
            ratios.iter().copied().reduce(f64::min),
            ratios.iter().copied().reduce(f64::max),
        ) {
            let (parse, import) = (step(probe, "parse_keys").p50(), step(probe, "rsa_private_import").p50());
            text.push_str(&format!(
                "Initialization of the Redis and key functions takes {min:.1}–{max:.1}× the hello-world's {}: parsing the \
                 key document ({} in the probe; it reads the RSA key's public half straight from the private key's DER, \
                 and only refresh, sign-in and sign-up import the key pair, {} more, because they sign), JSON logging and a \
                 larger binary to map (the sizes below). None of them opens a Redis connection before its first request. ",
                fmt_ms(hello.init.p50()),
                fmt_us(parse),
                fmt_us(import),
            ));
        }
        if let Some(signout) = find("signout") {
            text.push_str(&format!(
                "The first request then adds what the hello-world has no need of: sign-out's takes {} after its \
                 initialization (the Redis connection opened on first use, one script call, the token check) against \
                 the hello-world's {}. ",
                fmt_ms(signout.served.p50().saturating_sub(signout.init.p50())),
                fmt_ms(hello.served.p50().saturating_sub(hello.init.p50())),
            ));
        }
        if let Some(signin) = find("signin") {
            text.push_str(&format!(
                "Sign-in and sign-up also build the AWS SDK's DynamoDB client during init ({} for sign-in), and that \
                 loads the operating system's CA certificates: on this machine rustls-native-certs opens the bundle and \
                 then each of 147 files under /etc/ssl/certs (seen with strace). A one-off check: with \
                 `SSL_CERT_FILE` naming the bundle, sign-in's initialization took 3.7 ms instead of 6.0 ms (`perf stat`, \
                 30 runs); compiled-in roots (webpki-roots) would skip the parsing as well. ",
                fmt_ms(signin.init.p50())
            ));
        }
    }
    let (first, second) = (
        step(probe, "rs256_sign_first").p50(),
        step(probe, "rs256_sign_second").p50(),
    );
    if first > second * 5 {
        text.push_str(&format!(
            "The first request is where refresh, sign-in and sign-up lose: a fresh process's first RS256 signature takes {} \
             instead of {}. AWS-LC (the crypto library behind jsonwebtoken's `aws_lc_rs` backend) seeds its random \
             generator from CPU jitter entropy the first time it is used, and an RSA signature (blinding) is that first \
             use. Functions that only verify (revoke-all, sessions, authorizer, me) or only use HMAC (sign-out) never pay \
             it. The fix is a build setting rather than code: `AWS_LC_SYS_NO_JITTER_ENTROPY=1` when aws-lc-sys is built \
             (for example in `[env]` of `.cargo/config.toml`) makes AWS-LC seed from the operating system (getrandom) \
             instead. A one-off build of refresh, signout and jwks with it (2026-11-24, `bench --only 5 --bin-dir <that \
             build>`) served refresh's first request in 4.5 ms instead of 37 ms, the others unchanged. ",
            fmt_ms(first),
            fmt_ms(second),
        ));
    } else {
        text.push_str(&format!(
            "A fresh process's first RS256 signature takes {} against {} for the next: AWS-LC seeds its random generator \
             from the operating system (`AWS_LC_SYS_NO_JITTER_ENTROPY=1` in `.cargo/config.toml`); seeded from CPU jitter \
             entropy, as by default, that first signature took about 31 ms on this machine (2026-11-24). What refresh, \
             sign-in and sign-up still add to their first request is one RS256 signature, whose cost section 1 takes \
             apart. ",
            fmt_ms(first),
            fmt_ms(second),
        ));
    }
    text.push_str(
        "Sign-in and sign-up also hash or verify one argon2id password in their first request (section 7), by design.",
    );
    text
}

/// From one-off builds made while writing the bench (not rebuilt by each run).
const SIZE_READING: &str =
    "**Reading.** What the functions add to the hello-world is mostly the AWS SDK. Every function enables `shared`'s \
`secrets-manager` feature, so that it can read the key document from `AUTH_KEYS_SECRET_ARN` at start-up. Two changes \
on 2026-11-25 took about 1.15 MiB out of every function (x86_64 `refresh`: 7.34 MiB before, 6.19 MiB after; arm64 \
`signup`: 6.87 MiB before): the SDK clients are configured from the Lambda environment (`shared/src/aws.rs`: in Lambda \
the region and the role's credentials are environment variables) instead of through aws-config's provider chain, which \
keeps the STS client and the SSO, IMDS and profile providers out (0.80 MiB), and logs are filtered by level only, \
without tracing-subscriber's regex-based env-filter, which the lambda crates' `tracing` features also pulled in (0.35 \
MiB). What is left of the SDK in a session function (the Secrets Manager client, the smithy runtime, hyper-rustls with \
HTTP/2) is about 2.3 MiB (`refresh` built without the feature was 4.28 MiB on 2026-11-24, before both changes). The \
rest is AWS-LC (RSA and HMAC, about 0.5 MiB), redis with cluster and TLS support, tokio, hyper and lambda_http. \
Reading the secret without the SDK (for example through the AWS Parameters and Secrets Lambda Extension, an HTTP GET \
on `localhost:2773`) would save those 2.3 MiB in the seven session functions, at the price of a layer to deploy and of \
a code path no local test could run against the real extension; sign-up and sign-in need the SDK for DynamoDB anyway.";

fn sizes(section: &mut Section, bin_dir: &Path) {
    let target_dir = bin_dir.parent().unwrap_or(bin_dir);
    let stat = |path: PathBuf| std::fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok()));
    let rows: Vec<(&str, Option<u64>, Option<u64>, bool)> = std::iter::once("hello")
        .chain(FUNCTIONS)
        .map(|f| {
            let x86 = stat(bin_dir.join(f));
            let arm = stat(target_dir.join("lambda").join(f).join("bootstrap"));
            // An arm64 binary older than the x86_64 one was built from older sources.
            let stale = matches!((&x86, &arm), (Some((_, Some(x))), Some((_, Some(a)))) if a < x);
            (f, x86.map(|s| s.0), if stale { None } else { arm.map(|s| s.0) }, stale)
        })
        .collect();
    let have_arm64 = rows
        .iter()
        .filter(|(f, ..)| *f != "hello")
        .all(|(_, _, arm, _)| arm.is_some());
    section.text(
        "Release binary sizes (`[profile.release]`: stripped, LTO, `opt-level = \"s\"`; 1 MiB = 1,048,576 bytes). x86_64: \
         `cargo build --release -p <function>` (`target/release/<function>`); arm64: `cargo lambda build --release --arm64 \
         -p <function>` with zig as the cross linker (`target/lambda/<function>/bootstrap`), which `make bench` runs unless \
         `BENCH_ARM64=0`. Each group of functions with the same features of `shared` is built on its own, as SAM builds \
         one function at a time.",
    );
    let show = |s: Option<u64>| s.map(fmt_bytes).unwrap_or_else(|| "–".into());
    section.table(
        &["binary", "x86_64", "arm64"],
        &rows
            .iter()
            .map(|(f, x86, arm, stale)| {
                vec![
                    format!("`{f}`"),
                    show(*x86),
                    if *stale { "stale, not shown".into() } else { show(*arm) },
                ]
            })
            .collect::<Vec<_>>(),
    );
    section.text(SIZE_READING);
    let functions = rows.iter().filter(|(f, ..)| *f != "hello");
    let limit = 6 * 1024 * 1024;
    if have_arm64 {
        let largest = functions
            .filter_map(|(f, _, arm, _)| arm.map(|a| (a, *f)))
            .max()
            .unwrap();
        section.goal(Goal::new(
            format!("largest arm64 binary (`{}`)", largest.1),
            fmt_bytes(largest.0),
            "≤ 6 MiB",
            largest.0 <= limit,
        ));
    } else if let Some(largest) = functions.filter_map(|(f, x86, ..)| x86.map(|x| (x, *f))).max() {
        section.text("No current arm64 binaries were found (see the build notes); the goal is checked on the x86_64 sizes instead.");
        section.goal(Goal::new(
            format!("largest x86_64 binary (`{}`; no arm64 build)", largest.1),
            fmt_bytes(largest.0),
            "≤ 6 MiB",
            largest.0 <= limit,
        ));
    }
}
