//! (4) Redis memory per session against the tutorial's one string key per token.
//!
//! Two ways: `MEMORY USAGE` summed over one user's keys (10 session hashes, each
//! rotated once so the grace fields exist, plus the index ZSET), and the growth of
//! `used_memory` when 1,000 users with 10 sessions each are added (which also counts
//! the keyspace and expiry dictionaries `MEMORY USAGE` leaves out).

use redis::aio::MultiplexedConnection;
use shared::context::SessionContext;
use shared::time::now_millis;
use shared::tokens::RefreshClaims;
use shared::whitelist::{index_key, session_key};

use crate::harness::*;
use crate::report::{Goal, Section};

const SESSIONS: usize = 10;
const TTL: u64 = 3 * 24 * 3600;

async fn memory_usage(connection: &mut MultiplexedConnection, key: &str) -> u64 {
    let bytes: Option<u64> = redis::cmd("MEMORY").arg("USAGE").arg(key).arg("SAMPLES").arg(0).query_async(connection).await.unwrap();
    bytes.unwrap_or_else(|| panic!("{key} does not exist"))
}

async fn used_memory(connection: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query_async(connection).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
}

/// A user with `sessions` sessions, each rotated once (grace fields present).
async fn user_with_rotated_sessions(context: &SessionContext, sessions: usize) -> (String, Vec<String>) {
    let user = new_user_id();
    let kid = context.tokens.refresh_kid().to_string();
    let mut session_ids = Vec::new();
    for _ in 0..sessions {
        let minted = open_session(context, &user, false).await;
        let claims = RefreshClaims {
            iss: ISSUER.into(),
            aud: format!("{ISSUER}/tokens"),
            sub: user.clone(),
            sid: minted.grant.session_id.clone(),
            jti: minted.grant.jti.clone(),
            iat: minted.grant.issued_at,
            exp: minted.grant.expires_at,
        };
        let rotation = context.whitelist.rotate(&claims, &kid, now_millis()).await.unwrap();
        assert!(matches!(rotation, shared::whitelist::Rotation::Rotated { .. }));
        session_ids.push(minted.grant.session_id);
    }
    (user, session_ids)
}

/// The tutorial's token key (memrizr: `SET {uid}:{jti} 0 EX ttl`).
fn tutorial_key(user: &str) -> String {
    format!("{user}:{}", uuid::Uuid::new_v4())
}

pub async fn run(redis_url: &str, context: &'static SessionContext) -> Section {
    let mut connection = connect(redis_url).await;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();

    // MEMORY USAGE of one user's keys.
    let (user, session_ids) = user_with_rotated_sessions(context, SESSIONS).await;
    let index = memory_usage(&mut connection, &index_key(&user)).await;
    let mut hashes = 0;
    for sid in &session_ids {
        hashes += memory_usage(&mut connection, &session_key(&user, sid)).await;
    }
    let ours_per_session = (hashes + index) as f64 / SESSIONS as f64;
    let (single_user, single) = user_with_rotated_sessions(context, 1).await;
    let ours_single = memory_usage(&mut connection, &index_key(&single_user)).await
        + memory_usage(&mut connection, &session_key(&single_user, &single[0])).await;

    // The same session with only what rotation, grace, reuse and the lifetime need
    // (no created/used/email/user agent/IP): what the extra fields cost.
    let fields: Vec<String> = redis::cmd("HGETALL").arg(session_key(&user, &session_ids[0])).query_async(&mut connection).await.unwrap();
    let mut minimal = redis::cmd("HSET");
    minimal.arg("minimal-session");
    for pair in fields.chunks(2) {
        if ["jti", "pjti", "rot", "iat", "exp", "kid", "abs"].contains(&pair[0].as_str()) {
            minimal.arg(&pair[0]).arg(&pair[1]);
        }
    }
    minimal.query_async::<()>(&mut connection).await.unwrap();
    let minimal_hash = memory_usage(&mut connection, "minimal-session").await;
    let minimal_per_session = minimal_hash as f64 + index as f64 / SESSIONS as f64;
    let mut field_list: Vec<&str> = fields.chunks(2).map(|p| p[0].as_str()).collect();
    field_list.sort();

    let tutorial_user = new_user_id();
    let key = tutorial_key(&tutorial_user);
    redis::cmd("SET").arg(&key).arg(0).arg("EX").arg(TTL).query_async::<()>(&mut connection).await.unwrap();
    let tutorial = memory_usage(&mut connection, &key).await;
    let key_uid = tutorial_key(&tutorial_user);
    redis::cmd("SET").arg(&key_uid).arg(&tutorial_user).arg("EX").arg(TTL).query_async::<()>(&mut connection).await.unwrap();
    let tutorial_uid_value = memory_usage(&mut connection, &key_uid).await;

    // used_memory growth for 1,000 users x 10 sessions, then the same for the tutorial.
    let users = 1000;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();
    let before = used_memory(&mut connection).await;
    for _ in 0..users {
        user_with_rotated_sessions(context, SESSIONS).await;
    }
    let ours_bulk = (used_memory(&mut connection).await - before) as f64 / (users * SESSIONS) as f64;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();
    let before = used_memory(&mut connection).await;
    for _ in 0..users {
        let user = new_user_id();
        let mut pipe = redis::pipe();
        for _ in 0..SESSIONS {
            pipe.cmd("SET").arg(tutorial_key(&user)).arg(0).arg("EX").arg(TTL).ignore();
        }
        pipe.query_async::<()>(&mut connection).await.unwrap();
    }
    let tutorial_bulk = (used_memory(&mut connection).await - before) as f64 / (users * SESSIONS) as f64;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();

    let mut section = Section::new("4. Redis memory per session");
    section.text(format!(
        "Ours: a user with {SESSIONS} sessions, each rotated once (so the grace fields `pjti`/`rot` exist), user agent \
         of a real browser ({} chars), email of {} chars. Session hash fields: `{}`. Tutorial: one string key \
         `{{uid}}:{{jti}}` per token with the value memrizr stores (`0`), and with the user id as value.",
        USER_AGENT.len(),
        EMAIL.len(),
        field_list.join("`, `")
    ));
    let row = |name: &str, ours: f64, tutorial: f64| {
        vec![name.to_string(), format!("{ours:.0} B"), format!("{tutorial:.0} B"), fmt_ratio(ours / tutorial)]
    };
    let rows = vec![
        row("`MEMORY USAGE`, user with 10 sessions (hash + index share)", ours_per_session, tutorial as f64),
        row("`MEMORY USAGE`, user with 1 session (hash + whole index)", ours_single as f64, tutorial as f64),
        row("`MEMORY USAGE`, tutorial value = user id instead of `0`", ours_per_session, tutorial_uid_value as f64),
        row(&format!("`used_memory` growth per session, {users} users × {SESSIONS}"), ours_bulk, tutorial_bulk),
        row("ours without created/used/email/ua/ip (hash + index share)", minimal_per_session, tutorial as f64),
    ];
    section.table(&["measure", "ours", "tutorial", "ours / tutorial"], &rows);
    let r = ours_per_session / tutorial as f64;
    section.text(format!(
        "**Reading.** The tutorial stores one string key per token and nothing else: its name and the value `0`. A session \
         here is a hash of {} fields plus an entry in the user's index. What the extra bytes buy: the current and previous \
         token ids and the rotation time (exactly one rotation, the grace window, reuse detection), `iat`/`exp`/`kid` (the \
         grace window re-mints the refresh token byte for byte), `abs` (the absolute lifetime), the index (revoke-all and \
         the session cap without SCAN), `created`/`used`/`ua`/`ip` (what `GET /sessions` lists) and `email` (the id \
         token's claim, so that a refresh never reads DynamoDB). Without the `GET /sessions` fields and the email a session \
         is {minimal_per_session:.0} B ({:.2}×): the ≤ 1.0× goal cannot be met by a record that must hold two 32-character \
         ids and a few timestamps where the tutorial holds none. If memory mattered more than those features, `shared/` \
         could keep the ids as 16 raw bytes instead of 32 hex characters and the user agent shorter (it keeps up to 256 \
         characters; this browser's is {}). In absolute terms {ours_bulk:.0} B per session (`used_memory`, Redis's own \
         overhead included) is about {:.2} GB per million live sessions.",
        field_list.len(),
        minimal_per_session / tutorial as f64,
        USER_AGENT.len(),
        ours_bulk * 1e6 / 1e9,
    ));
    section.goal(Goal::new("Redis memory per session / tutorial's", fmt_ratio(r), "≤ 1.0×", r <= 1.0));
    section
}
