//! (8) The monthly AWS bill at 100,000 monthly active users, computed from what this
//! run measured (handler durations, log bytes, Redis bytes and script time) and
//! published list prices, against Amazon Cognito's Lite tier for the same users.
//!
//! The prices are constants with their source and the date the source carries: no
//! price is fetched by the bench. Where a source is a third party's reading of an AWS
//! page, the table says so.

use std::path::Path;
use std::time::Duration;

use crate::harness::*;
use crate::report::{Goal, Section};

/// The workload of the issue: 100k MAU, about 24M refreshes and 0.5M sign-ins a month.
const MAU: f64 = 100_000.0;
const REFRESHES: f64 = 24_000_000.0;
const SIGNINS: f64 = 500_000.0;
/// Live sessions per active user held in Redis (a phone and a browser): an assumption.
const SESSIONS_PER_USER: f64 = 2.0;
const HOURS_PER_MONTH: f64 = 730.0;
/// Round trips in AWS, which this machine's loopback cannot show: one to ElastiCache in
/// the same Availability Zone, one DynamoDB GetItem. Assumptions, not measurements.
const ELASTICACHE_RTT: Duration = Duration::from_micros(300);
const DYNAMODB_GETITEM: Duration = Duration::from_millis(4);
/// Lambda's CPU share is proportional to memory: 1,769 MB is one vCPU.
const MB_PER_VCPU: f64 = 1769.0;

struct Price {
    what: &'static str,
    value: f64,
    unit: &'static str,
    source: &'static str,
}

const LAMBDA_REQUEST: Price = Price {
    what: "Lambda requests",
    value: 0.20,
    unit: "per 1M requests",
    source: "aws.amazon.com/lambda/pricing, as transcribed on 2026-09-20 by api-evangelist/aws-lambda (the page's own \
             tables render from client-side tokens)",
};
const LAMBDA_ARM_GB_S: Price = Price {
    what: "Lambda duration, arm64 (first 7.5 billion GB-s a month)",
    value: 0.000_013_333_4,
    unit: "per GB-second",
    source: "aws.amazon.com/lambda/pricing as quoted by cloudchipr.com (\"AWS Lambda Pricing Breakdown\", 2024) and \
             by Artillery 2.0.28's price table (arm64 1333340e-11); not read on AWS's page itself in this run",
};
const HTTP_API_REQUEST: Price = Price {
    what: "API Gateway HTTP API requests (first 300M a month; metered per 512 KB)",
    value: 1.00,
    unit: "per 1M requests",
    source: "AWS's whitepaper \"Best Practices for Designing Amazon API Gateway Private APIs and Private Integration\", \
             Cost optimization, table 4 (docs.aws.amazon.com, read 2026-12-06: us-east-1, first 300M requests a month); \
             also api-evangelist's transcription of aws.amazon.com/api-gateway/pricing of 2026-09-20",
};
const VALKEY_GB_HOUR: Price = Price {
    what: "ElastiCache Serverless for Valkey, data stored (metered at 100 MB at least)",
    value: 0.084,
    unit: "per GB-hour",
    source:
        "usage.ai's ElastiCache Serverless pricing guide (rates of June 2026, citing AWS); the 100 MB minimum also \
             in Vantage's billing-code reference; not read on aws.amazon.com/elasticache/pricing itself",
};
const VALKEY_ECPU: Price = Price {
    what: "ElastiCache Serverless for Valkey, ElastiCache Processing Units",
    value: 0.0023,
    unit: "per 1M ECPUs",
    source: "same as above (June 2026)",
};
const DYNAMODB_RRU: Price = Price {
    what: "DynamoDB on-demand read request units",
    value: 0.125,
    unit: "per 1M RRU",
    source: "airbyte.com (2025-07-21) and jusdb.com (2025-08-19): the on-demand rates since AWS's 50% cut of \
             2024-11-01; not read on aws.amazon.com/dynamodb/pricing itself",
};
const DYNAMODB_GB_MONTH: Price = Price {
    what: "DynamoDB storage (Standard table class)",
    value: 0.25,
    unit: "per GB-month",
    source: "could not be verified in this run (the long-standing us-east-1 list price); negligible here",
};
const LOGS_GB: Price = Price {
    what: "CloudWatch Logs ingestion (Standard class)",
    value: 0.50,
    unit: "per GB",
    source: "c3x.dev (\"us-east-1, June 2026\") and hykell.com; not read on aws.amazon.com/cloudwatch/pricing itself",
};
const COGNITO_LITE_MAU: Price = Price {
    what: "Amazon Cognito user pools, Lite tier, MAUs 10,001–100,000 (the first 10,000 free)",
    value: 0.0055,
    unit: "per MAU",
    source: "aws.amazon.com/cognito/pricing, as transcribed on 2026-09-20 by api-evangelist/amazon-cognito (from the \
             page's worked examples; its tables render from client-side tokens)",
};

/// `MemorySize` of a function in template.yaml (its own, or the Globals').
fn memory_mb(root: &Path, resource: &str) -> Option<(u32, &'static str)> {
    let template = std::fs::read_to_string(root.join("template.yaml")).ok()?;
    let find = |block_start: &str| {
        let mut lines = template.lines().skip_while(|l| l.trim_end() != block_start).skip(1);
        lines
            .by_ref()
            .take_while(|l| l.is_empty() || l.starts_with("    "))
            .find_map(|l| l.trim().strip_prefix("MemorySize:"))
            .and_then(|v| v.split('#').next())
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    find(&format!("  {resource}:"))
        .map(|m| (m, "the function's own"))
        .or_else(|| find("  Function:").map(|m| (m, "Globals")))
}

/// Billed duration in Lambda: the time measured here on one full core, stretched by the
/// CPU share the memory buys, plus the network waits loopback does not have, rounded
/// up to the next millisecond (Lambda bills 1 ms increments).
fn billed(measured: Duration, waits: Duration, memory_mb: u32) -> Duration {
    let cpu = measured.as_secs_f64() * (MB_PER_VCPU / f64::from(memory_mb)).max(1.0);
    let ms = ((cpu + waits.as_secs_f64()) * 1000.0).ceil();
    Duration::from_secs_f64(ms / 1000.0)
}

fn dollars(x: f64) -> String {
    if x >= 100.0 {
        format!("${x:.0}")
    } else if x >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.3}")
    }
}

pub fn run(root: &Path, record: &Record) -> Section {
    let mut section = Section::new("8. Cost at 100,000 monthly active users");
    let (Some((refresh_p50, refresh_ping)), Some((signin_p50, _))) = (record.refresh, record.signin) else {
        section.text("Not computed: it needs sections 1 and 7 of the same run.");
        section.goal(Goal::new(
            "monthly AWS bill at 100k MAU / Cognito Lite",
            "not computed",
            "≤ 0.1×",
            false,
        ));
        return section;
    };
    let (refresh_mb, refresh_mb_from) = memory_mb(root, "RefreshFunction").unwrap_or((256, "assumed"));
    let (signin_mb, signin_mb_from) = memory_mb(root, "SigninFunction").unwrap_or((512, "assumed"));
    // Refresh: one Redis round trip; the loopback one is replaced by ElastiCache's.
    let refresh_billed = billed(refresh_p50.saturating_sub(refresh_ping), ELASTICACHE_RTT, refresh_mb);
    // Sign-in: the limiter and the session scripts (two round trips) and one GetItem,
    // whose loopback times stay in the measured time (an over-estimate).
    let signin_billed = billed(signin_p50, ELASTICACHE_RTT * 2 + DYNAMODB_GETITEM, signin_mb);
    let gb = |mb: u32| f64::from(mb) / 1024.0;
    let lambda_requests = (REFRESHES + SIGNINS) / 1e6 * LAMBDA_REQUEST.value;
    let refresh_gb_s = REFRESHES * refresh_billed.as_secs_f64() * gb(refresh_mb);
    let signin_gb_s = SIGNINS * signin_billed.as_secs_f64() * gb(signin_mb);
    let lambda_duration = (refresh_gb_s + signin_gb_s) * LAMBDA_ARM_GB_S.value;
    let http_api = (REFRESHES + SIGNINS) / 1e6 * HTTP_API_REQUEST.value;

    // ElastiCache: the sessions' bytes (each session paying a one-session user's keys:
    // an over-estimate), metered at 100 MB at least.
    let user_bytes = record.single_session_user_bytes.unwrap_or(700) as f64;
    let stored_gb = (MAU * SESSIONS_PER_USER * user_bytes / 1e9).max(0.1);
    let valkey_storage = stored_gb * HOURS_PER_MONTH * VALKEY_GB_HOUR.value;
    // ECPUs: a simple command of up to 1 KB is 1 ECPU; a command that takes more vCPU
    // time takes proportionally more. The redis-server process's CPU time per rotation
    // over its CPU time per GET (both measured in section 1, parsing and I/O included);
    // sign-in runs two scripts, counted alike.
    let ecpu_per_script = match (record.rotate_redis_cpu, record.get_redis_cpu) {
        (Some(script), Some(get)) if !get.is_zero() => (script.as_secs_f64() / get.as_secs_f64()).max(1.0),
        _ => 50.0,
    };
    let ecpus = REFRESHES * ecpu_per_script + SIGNINS * 2.0 * ecpu_per_script;
    let valkey_ecpu = ecpus / 1e6 * VALKEY_ECPU.value;
    // DynamoDB: one strongly consistent GetItem of an item under 4 KB per sign-in (1 RRU);
    // two items of under 1 KB per user.
    let dynamodb_reads = SIGNINS / 1e6 * DYNAMODB_RRU.value;
    let dynamodb_storage = MAU * 2.0 * 1024.0 / 1e9 * DYNAMODB_GB_MONTH.value;
    let ours =
        lambda_requests + lambda_duration + http_api + valkey_storage + valkey_ecpu + dynamodb_reads + dynamodb_storage;

    // Also billed, outside the four services of the goal: the logs.
    let log_bytes = |name: &str| {
        record
            .log_bytes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .unwrap_or(0.0)
    };
    // Lambda's own platform records (start, report) in JSON format, and the API's
    // access log line (template.yaml's format with typical values): estimates.
    const PLATFORM_BYTES: f64 = 600.0;
    let access_line = format!(
        "{{\"requestId\":\"{}\",\"ip\":\"{}\",\"routeKey\":\"POST /tokens\",\"status\":\"200\",\"latency\":\"12\",\
         \"integrationLatency\":\"9\",\"integrationError\":\"-\"}}\n",
        "Jx4bKhXrIAMEb2Q=", IP
    );
    let log_gb = (REFRESHES * (log_bytes("refresh") + PLATFORM_BYTES + access_line.len() as f64)
        + SIGNINS * (log_bytes("sign-in") + PLATFORM_BYTES + access_line.len() as f64))
        / 1e9;
    let logs = log_gb * LOGS_GB.value;

    let cognito = (MAU - 10_000.0) * COGNITO_LITE_MAU.value;
    let r = ours / cognito;

    let peaks = record
        .peak_rss
        .iter()
        .filter(|(n, _)| n == "refresh" || n == "signin")
        .map(|(n, b)| format!("{} for {n}", fmt_bytes(*b)))
        .collect::<Vec<_>>();
    let peaks = if peaks.is_empty() {
        "memory (not measured in this run)".to_string()
    } else {
        peaks.join(" and ")
    };
    section.text(format!(
        "The issue's workload: {} monthly active users, {} refreshes and {} sign-ins a month (other routes are not \
         counted). Billed Lambda duration = the p50 measured here on one full x86 core (section 1 for refresh without its \
         loopback PING, section 7 for sign-in), multiplied by 1,769 MB / the function's memory (Lambda's CPU share; an \
         upper bound for bursts this short), plus the network waits loopback does not have ({} per ElastiCache round trip, \
         {} per DynamoDB GetItem: assumptions), rounded up to the millisecond. Memory: template.yaml's `MemorySize` \
         (refresh {refresh_mb} MB, {refresh_mb_from}; sign-in {signin_mb} MB, {signin_mb_from}); Lambda bills the \
         configured memory, not the {} the functions' processes peaked at here (section 5). Free tiers are left out \
         of our bill (Lambda's 1M requests and 400,000 GB-s a month would remove most of its Lambda line) but applied to \
         Cognito's (its first 10,000 MAUs), so the comparison leans against us.",
        fmt_count(MAU as u64),
        fmt_count(REFRESHES as u64),
        fmt_count(SIGNINS as u64),
        fmt_us(ELASTICACHE_RTT),
        fmt_ms(DYNAMODB_GETITEM),
        peaks,
    ));
    let rows = vec![
        vec![
            "Lambda requests".into(),
            format!("{} requests", fmt_count((REFRESHES + SIGNINS) as u64)),
            dollars(lambda_requests),
        ],
        vec![
            "Lambda duration, refresh".into(),
            format!(
                "{} billed each at {refresh_mb} MB (p50 {} here): {:.0} GB-s",
                fmt_ms(refresh_billed),
                fmt_us(refresh_p50),
                refresh_gb_s
            ),
            dollars(refresh_gb_s * LAMBDA_ARM_GB_S.value),
        ],
        vec![
            "Lambda duration, sign-in".into(),
            format!(
                "{} billed each at {signin_mb} MB (p50 {} here): {:.0} GB-s",
                fmt_ms(signin_billed),
                fmt_ms(signin_p50),
                signin_gb_s
            ),
            dollars(signin_gb_s * LAMBDA_ARM_GB_S.value),
        ],
        vec![
            "API Gateway HTTP API".into(),
            format!("{} requests", fmt_count((REFRESHES + SIGNINS) as u64)),
            dollars(http_api),
        ],
        vec![
            "ElastiCache Serverless (Valkey), data stored".into(),
            format!(
                "{:.3} GB × {HOURS_PER_MONTH:.0} h ({} users × {SESSIONS_PER_USER:.0} sessions × {user_bytes:.0} B, \
                 metered at 0.1 GB at least)",
                stored_gb,
                fmt_count(MAU as u64)
            ),
            dollars(valkey_storage),
        ],
        vec![
            "ElastiCache Serverless (Valkey), ECPUs".into(),
            format!(
                "{:.0}M ECPUs ({ecpu_per_script:.1} per script: redis-server's CPU time per rotation over its CPU \
                 time per GET, both measured here; an estimate of AWS's metering)",
                ecpus / 1e6
            ),
            dollars(valkey_ecpu),
        ],
        vec![
            "DynamoDB on-demand, reads".into(),
            format!("{} GetItems of 1 RRU (sign-in)", fmt_count(SIGNINS as u64)),
            dollars(dynamodb_reads),
        ],
        vec![
            "DynamoDB storage".into(),
            format!("{} users × 2 items × ≤ 1 KB", fmt_count(MAU as u64)),
            dollars(dynamodb_storage),
        ],
        vec![
            "**total, the four services**".into(),
            String::new(),
            format!("**{}**", dollars(ours)),
        ],
        vec![
            "Amazon Cognito, Lite tier".into(),
            format!("{} MAUs, 10,000 free", fmt_count(MAU as u64)),
            format!("**{}**", dollars(cognito)),
        ],
        vec!["**ours / Cognito Lite**".into(), String::new(), format!("**{}**", fmt_ratio(r))],
        vec![
            "also billed: CloudWatch Logs ingestion".into(),
            format!(
                "{log_gb:.1} GB: the functions' lines ({:.0} B per refresh, {:.0} B per sign-in, counted here), Lambda's \
                 START/REPORT records (~{PLATFORM_BYTES:.0} B, estimate) and the API's access log line ({} B)",
                log_bytes("refresh"),
                log_bytes("sign-in"),
                access_line.len()
            ),
            dollars(logs),
        ],
        vec![
            "total with the logs / Cognito Lite".into(),
            dollars(ours + logs),
            fmt_ratio((ours + logs) / cognito),
        ],
    ];
    section.table(&["line", "quantity", "per month"], &rows);
    section.text("Prices (US East, N. Virginia; list prices, USD):");
    section.table(
        &["price", "value", "source and date"],
        &[
            LAMBDA_REQUEST,
            LAMBDA_ARM_GB_S,
            HTTP_API_REQUEST,
            VALKEY_GB_HOUR,
            VALKEY_ECPU,
            DYNAMODB_RRU,
            DYNAMODB_GB_MONTH,
            LOGS_GB,
            COGNITO_LITE_MAU,
        ]
        .iter()
        .map(|p| {
            vec![
                p.what.to_string(),
                format!("${} {}", p.value, p.unit),
                p.source.to_string(),
            ]
        })
        .collect::<Vec<_>>(),
    );
    section.text(format!(
        "**Reading.** The bill is {} a month, {:.2}× Cognito Lite's {} for the same users ({:.2}× with the logs). API \
         Gateway's per-request price is most of it ({} of {}): {} HTTP API requests cost more than all the compute \
         behind them, because a refresh is billed {} of Lambda time. Not counted: the VPC's way to Secrets Manager \
         (an interface endpoint, about $7 a month per Availability Zone, or a NAT gateway; shared by the VPC, and off \
         by default in template.yaml), Secrets Manager's secret ($0.40 a month) and one read per cold start, data \
         transfer out, and the routes other than refresh and sign-in. Had the cache been ElastiCache Serverless for \
         Redis OSS instead of Valkey, its 1 GB minimum at $0.125 per GB-hour (AWS Database Blog) alone would be about \
         $91 a month.",
        dollars(ours),
        r,
        dollars(cognito),
        (ours + logs) / cognito,
        dollars(http_api),
        dollars(ours),
        fmt_count((REFRESHES + SIGNINS) as u64),
        fmt_ms(refresh_billed),
    ));
    section.goal(Goal::new(
        "monthly AWS bill at 100k MAU (Lambda, HTTP API, ElastiCache Serverless, DynamoDB) / Cognito Lite",
        format!("{} / {} = {}", dollars(ours), dollars(cognito), fmt_ratio(r)),
        "≤ 0.1×",
        r <= 0.1,
    ));
    section
}
