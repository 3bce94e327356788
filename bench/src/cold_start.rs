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
pub const FUNCTIONS: [&str; 14] = [
    "signup",
    "signin",
    "account",
    "recovery",
    "email",
    "mfa",
    "refresh",
    "signout",
    "revoke-all",
    "sessions",
    "jwks",
    "authorizer",
    "admin",
    "me",
];

/// The functions the bench hands a real first request; the others (whose requests need
/// mail, an enrolled authenticator or an operator's IAM call) are measured to the end
/// of their initialization only.
fn serves_a_request(function: &str) -> bool {
    !matches!(function, "account" | "recovery" | "email" | "mfa" | "admin")
}

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
            // One source address per run too: the per-address sign-up limit is not what is measured.
            let ip = format!("192.0.2.{}", run % 250 + 1);
            Invocation {
                event: http("POST", "/signup", &json_headers, Some(&body), &ip),
                expect: Expect::Status(201),
            }
        }
        other => panic!("no invocation for {other}"),
    }
}

/// The CA bundle of this machine, as template.yaml names AL2023's in `SSL_CERT_FILE`.
pub fn ca_bundle() -> Option<&'static str> {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

/// The environment Lambda gives a function, plus the service's configuration (with
/// template.yaml's `SSL_CERT_FILE`, pointed at this machine's bundle).
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
    if let Some(bundle) = ca_bundle() {
        env.push(("SSL_CERT_FILE".into(), bundle.into()));
    }
    env
}

struct Run {
    init: Duration,
    served: Option<Duration>,
    /// Peak resident memory (VmHWM) once the response was posted.
    peak_rss: Option<u64>,
}

fn peak_rss(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
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
    let rss = peak_rss(child.id());
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
        served: Some(posted.at - started),
        peak_rss: rss,
    })
}

/// Exec until the first `GET /runtime/invocation/next`, with the environment changed
/// by `adjust` (to measure what a setting is worth).
async fn init_only(
    function: &str,
    binary: &Path,
    services: &Services<'_>,
    adjust: impl Fn(&mut Vec<(String, String)>),
) -> Result<Duration, String> {
    let mut stub = Stub::start(function, None).await;
    let mut env = environment(function, &stub.address, services);
    adjust(&mut env);
    let log = services.log_dir.join(format!("{function}-init-only.log"));
    let started = Instant::now();
    let child = spawn(binary, &env, &log);
    let reached = tokio::time::timeout(Duration::from_secs(15), &mut stub.init).await;
    stop(child);
    match reached {
        Ok(Ok(at)) => Ok(at - started),
        _ => Err(format!("{function} did not finish initializing")),
    }
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
    served: Option<Samples>,
    init_connections: Option<u64>,
    peak_rss: Option<u64>,
}

impl Measured {
    fn served(&self) -> Option<&Samples> {
        self.served.as_ref()
    }
}

pub async fn run(scale: Scale, bin_dir: &Path, mut services: Services<'_>, record: &mut Record) -> Section {
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
            let run = if serves_a_request(function) {
                run_once(function, binary, &services, round).await
            } else {
                init_only(function, binary, &services, |_| {}).await.map(|init| Run {
                    init,
                    served: None,
                    peak_rss: None,
                })
            };
            match run {
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
            served: serves_a_request(function)
                .then(|| Samples::new(results[i].iter().filter_map(|r| r.served).collect())),
            init_connections,
            peak_rss: results[i].iter().filter_map(|r| r.peak_rss).max(),
        });
    }
    record.peak_rss = measured
        .iter()
        .filter_map(|m| m.peak_rss.map(|r| (m.name.clone(), r)))
        .collect();
    // What template.yaml's SSL_CERT_FILE is worth to the functions that build an AWS
    // SDK client at init: sign-in's initialization without it, alternating with it.
    let mut without_bundle = None;
    if let Some((function, binary)) = binaries.iter().find(|(f, _)| *f == "signin") {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let plain = init_only(function, binary, &services, |env| {
                env.retain(|(k, _)| k != "SSL_CERT_FILE")
            })
            .await;
            let set = init_only(function, binary, &services, |_| {}).await;
            if let (Ok(plain), Ok(set)) = (plain, set) {
                without.push(plain);
                with.push(set);
            }
        }
        if !with.is_empty() {
            without_bundle = Some((Samples::new(without), Samples::new(with)));
        }
    }

    section.text(format!(
        "Each function's release binary is exec'd with Lambda's environment (256 MB, `AWS_LAMBDA_RUNTIME_API` \
         pointing at a stub of the Runtime API on loopback written for the bench; `SSL_CERT_FILE` as template.yaml sets \
         it, naming this machine's CA bundle{}) and handed one real request: a fresh \
         session's token for the session endpoints, a correct sign-in, a new sign-up (account, recovery, email, mfa and \
         admin, whose requests need mail, an authenticator or an operator's call, only initialize). *init* = exec until \
         the first \
         `GET /runtime/invocation/next` (what Lambda reports as Init Duration); *first request* = exec until the response \
         is posted. p50 of {runs} rounds, each running every binary once in turn, after one uncounted round; the baseline is `bench/src/bin/hello.rs`, \
         a hello-world `lambda_http` function built with the same release profile. `Redis connections at init`: \
         connections the function had opened when it asked for its first event (should be 0: clients are lazy). \
         `peak RSS`: the process's peak resident memory (VmHWM) once it had answered.",
        ca_bundle().map(|b| format!(", `{b}`")).unwrap_or_else(|| ": none found, so it is not set".into())
    ));
    let hello = measured
        .iter()
        .find(|m| m.name == "hello")
        .and_then(|m| Some((m.init.p50(), m.served()?.p50())));
    let dash = || "–".to_string();
    let rows: Vec<Vec<String>> = measured
        .iter()
        .map(|m| {
            let (init_ratio, served_ratio) = match hello {
                Some((init, served)) => (
                    fmt_ratio(ratio(m.init.p50(), init)),
                    m.served()
                        .map(|s| fmt_ratio(ratio(s.p50(), served)))
                        .unwrap_or_else(dash),
                ),
                None => ("n/a".into(), "n/a".into()),
            };
            vec![
                format!("`{}`", m.name),
                fmt_ms(m.init.p50()),
                m.served().map(|s| fmt_ms(s.p50())).unwrap_or_else(dash),
                m.served().map(|s| fmt_ms(s.max())).unwrap_or_else(dash),
                init_ratio,
                served_ratio,
                m.init_connections.map(|c| c.to_string()).unwrap_or_else(|| "–".into()),
                m.peak_rss.map(fmt_bytes).unwrap_or_else(|| "–".into()),
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
            "peak RSS",
        ],
        &rows,
    );
    if let Some((without, with)) = &without_bundle {
        section.text(format!(
            "`SSL_CERT_FILE` (template.yaml): sign-in's initialization took {} at p50 without it and {} with it \
             ({runs} runs each, alternating). The AWS SDK clients no longer read it (they trust the Amazon Trust \
             Services roots compiled into `shared/src/aws.rs`); until 2026-12-06 they read that bundle, and without \
             the setting every file of the certificate directory too, about 1 ms and 3 ms of every start-up. Only \
             Redis's TLS client (`rediss://`) reads it now, when it connects.",
            fmt_ms(without.p50()),
            fmt_ms(with.p50()),
        ));
    }
    for skip in &skipped {
        section.text(format!("Not measured: {skip}."));
    }
    if let Some((hello_init, hello_served)) = hello {
        for m in measured.iter().filter(|m| m.name != "hello") {
            let r = ratio(m.init.p50(), hello_init);
            section.goal(Goal::new(
                format!("init `{}` / hello-world", m.name),
                fmt_ratio(r),
                "≤ 1.5×",
                r <= 1.5,
            ));
        }
        for m in measured.iter().filter(|m| m.name != "hello") {
            let Some(served) = m.served() else { continue };
            let r = ratio(served.p50(), hello_served);
            let goal = match m.name.as_str() {
                "refresh" => Some(2.0),
                // Their first request verifies or hashes a password: argon2id, by design (section 7).
                "signin" | "signup" => None,
                _ => Some(1.5),
            };
            section.goal(match goal {
                Some(limit) => Goal::new(
                    format!("first request `{}` / hello-world", m.name),
                    fmt_ratio(r),
                    format!("≤ {limit:.1}×"),
                    r <= limit,
                ),
                None => Goal::info(
                    format!("first request `{}` / hello-world", m.name),
                    fmt_ratio(r),
                    "none: one argon2id by design (section 7 holds sign-in to its floor)",
                ),
            });
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
            .filter(|m| {
                !matches!(
                    m.name.as_str(),
                    "hello" | "signin" | "signup" | "account" | "recovery" | "email" | "mfa" | "admin"
                )
            })
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
                 key document ({} in the probe; it reads the RSA key's public half straight from the private key's DER; \
                 refresh imports the key pair at start-up, {} more, AWS-LC checking the key, while sign-in and sign-up \
                 import it beside their first password hash, where it costs no time), JSON logging and a larger binary to \
                 load and relocate (the sizes below). Lua scripts are hashed on first use, not at start-up. None of them opens a Redis connection before its first request. ",
                fmt_ms(hello.init.p50()),
                fmt_us(parse),
                fmt_us(import),
            ));
        }
        if let (Some(signout), Some(signout_served), Some(hello_served)) = (
            find("signout"),
            find("signout").and_then(|m| m.served()),
            hello.served(),
        ) {
            text.push_str(&format!(
                "The first request then adds what the hello-world has no need of: sign-out's takes {} after its \
                 initialization (the Redis connection opened on first use, one script call, the token check) against \
                 the hello-world's {}. ",
                fmt_ms(signout_served.p50().saturating_sub(signout.init.p50())),
                fmt_ms(hello_served.p50().saturating_sub(hello.init.p50())),
            ));
        }
        if let Some(signin) = find("signin") {
            let (first, second) = (
                step(probe, "users_client_first").p50(),
                step(probe, "users_client_second").p50(),
            );
            text.push_str(&format!(
                "The functions that read users (sign-up, sign-in, account, recovery, email, mfa, admin) also build the \
                 AWS SDK's DynamoDB client during init ({} for sign-in against the hello-world's {}): in the probe that \
                 client takes {} in a fresh process and {} the second time: the SDK parses its endpoint tables (a JSON \
                 document of partitions and regions, per client) and sets up TLS once per process, with the five Amazon \
                 Trust Services roots compiled in instead of the system's bundle (which took about 1 ms until \
                 2026-12-06). The functions that mail build a second client, for SES. What remains is the SDK's own \
                 start-up work; a client built on first use would only move it into the first request. ",
                fmt_ms(signin.init.p50()),
                fmt_ms(hello.init.p50()),
                fmt_us(first),
                fmt_us(second),
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

/// The release profile's choices, from one-off builds made on 2026-12-06 while writing this
/// (not rebuilt by each run): arm64 `signup` (the largest function), built by `cargo lambda
/// build --release --arm64 -p signup` with each profile in turn, and x86_64 timings.
const PROFILE_READING: &str = "**Why the release profile is what it is** (one-off builds of 2026-12-06 on this machine, \
the sources of that day; arm64 `signup` unless named):

| `[profile.release]` and overrides | arm64 size | what it buys |
|---|---|---|
| `opt-level = \"s\"` everywhere (the profile until then) | 6,450,952 B (6.15 MiB: over the limit) | – |
| `\"s\"`, aws-lc-sys and aws-lc-rs at 3 | 7,327,328 B (+0.84 MiB) | on x86_64 only: an RSA-2048 signature in 230 µs instead of 567 µs (AWS-LC's AVX-512 IFMA code, which OPENSSL_SMALL leaves out) |
| `\"s\"`, aws-lc-sys at 1 | 7,332,320 B | the same: the bytes are OPENSSL_SMALL's, not the C optimization level's |
| `\"s\"`, argon2 and blake2 at 3 | – | nothing: argon2id 38–44 ms as at `\"s\"`, because with `lto = true` the link-time optimizer runs at the final crate's level (ThinLTO: the same) |
| final crates at 3, dependencies `\"s\"`, crypto at 3 | 7,815,072 B | argon2id 24–28 ms; RSA as above |
| final crates at 2, dependencies `\"z\"`, argon2 at 3 | 6,452,776 B | argon2id 23–24 ms (final crates at 1: 36–38 ms) |
| `\"z\"` everywhere, the sign-in crate alone at 2 | `signin` 6,282,560 B | sign-in's argon2id in about 0.6× the time |
| `\"z\"` everywhere | 5,946,760 B | the request path about 30% slower: sign-out p50 122 → 159 µs, revoke-all 232 → 304 µs, an HS256 verification 3.2 → 4.2 µs (two consecutive runs of this bench) |
| `\"z\"`, no LTO, argon2 at 3 | 8,906,040 B | argon2id 23–24 ms |
| `\"s\"`, the SDK, certificate, URL, TLS and key-parsing crates `\"z\"` (60 overrides) | 6,183,584 B | – |
| **`\"z\"` everywhere, aws-lc-sys `\"s\"`; x86_64 builds without OPENSSL_SMALL** (this profile) | the table above | every function under 6 MiB on arm64; on x86_64, AWS-LC's AVX-512 RSA (section 1) |

argon2id timings: `m=19456,t=2,p=1`, p50 of 15 hashes by a program built with each profile (x86_64), against 33–35 ms of CPU \
for Debian's reference CLI in the same minutes. AWS-LC's speed-up is had without the bytes by target: \
`.cargo/config.toml` turns OPENSSL_SMALL off for x86_64 only (`AWS_LC_SYS_SMALL_x86_64_unknown_linux_gnu=0`), where \
it would drop the AVX-512 RSA code; on arm64, where the functions run, OPENSSL_SMALL leaves RSA alone (it drops the \
P-256/384/521 and curve25519 fast paths, which tokens do not use) and saves 0.84 MiB. argon2's speed-up needs the \
whole link at opt-level 2 or more (about 0.4 MiB per binary), so it is left out (section 7).";

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
    section.text(format!(
        "Release binary sizes (the workspace's release profile: {}; 1 MiB = 1,048,576 bytes). x86_64: \
         `cargo build --release -p <function>` (`target/release/<function>`); arm64: `cargo lambda build --release --arm64 \
         -p <function>` with zig as the cross linker (`target/lambda/<function>/bootstrap`), which `make bench` runs unless \
         `BENCH_ARM64=0`. Each group of functions with the same features of `shared` is built on its own, as SAM builds \
         one function at a time.",
        crate::release_profile(&crate::workspace_root()),
    ));
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
    section.text(PROFILE_READING);
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
