//! (4) Redis memory per session against the tutorial's one string key per token.
//!
//! Two ways: `MEMORY USAGE` of one user's key (every session rotated once, so the
//! grace data exists, with what `GET /sessions` shows), and the growth of
//! `used_memory` when 1,000 users with 10 sessions each are added (which also counts
//! the keyspace and expiry dictionaries `MEMORY USAGE` leaves out).

use redis::aio::MultiplexedConnection;
use shared::client::ClientInfo;
use shared::context::SessionContext;
use shared::time::now_millis;
use shared::tokens::RefreshClaims;
use shared::whitelist::{sessions_key, Opener, Rotation};

use crate::harness::*;
use crate::report::{Goal, Section};

const SESSIONS: usize = 10;
const TTL: u64 = 3 * 24 * 3600;
/// The refresh secret's kid of README's key document example.
const README_KID: &str = "rt-2026-11";
/// A documentation IPv6 address (RFC 3849), the longest a record holds.
const IPV6: &str = "2001:db8:85a3:8d3:1319:8a2e:370:7348";

async fn memory_usage(connection: &mut MultiplexedConnection, key: &str) -> u64 {
    let bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(connection)
        .await
        .unwrap();
    bytes.unwrap_or_else(|| panic!("{key} does not exist"))
}

async fn encoding(connection: &mut MultiplexedConnection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(connection)
        .await
        .unwrap()
}

async fn used_memory(connection: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query_async(connection).await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The bench's key document with another kid for the refresh secret.
fn keys_json_with_refresh_kid(kid: &str) -> String {
    let mut document: serde_json::Value = serde_json::from_str(&e2e::keys_json()).unwrap();
    document["refreshSecrets"][0]["kid"] = serde_json::json!(kid);
    document.to_string()
}

/// A user with `sessions` sessions opened and then rotated once by `client`.
async fn user_with_rotated_sessions(context: &SessionContext, sessions: usize, client: &ClientInfo) -> String {
    let user = new_user_id();
    let kid = context.tokens.refresh_kid().to_string();
    for _ in 0..sessions {
        let now_ms = now_millis();
        let opener = Opener {
            user_id: &user,
            identity: &identity(),
            proof_read_ms: now_ms,
        };
        let grant = context
            .whitelist
            .open_session(&opener, client, &kid, now_ms)
            .await
            .expect("open a session");
        let claims = RefreshClaims {
            iss: ISSUER.into(),
            aud: format!("{ISSUER}/tokens"),
            sub: user.clone(),
            sid: grant.session_id.clone(),
            jti: grant.jti.clone(),
            iat: grant.issued_at,
            exp: grant.expires_at,
        };
        let rotation = context
            .whitelist
            .rotate(&claims, &kid, client, now_millis())
            .await
            .unwrap();
        assert!(matches!(rotation, Rotation::Rotated { .. }));
    }
    user
}

/// The tutorial's token key (memrizr: `SET {uid}:{jti} 0 EX ttl`).
fn tutorial_key(user: &str) -> String {
    format!("{user}:{}", uuid::Uuid::new_v4())
}

async fn tutorial_token(connection: &mut MultiplexedConnection, user: &str, value: &str) -> u64 {
    let key = tutorial_key(user);
    redis::cmd("SET")
        .arg(&key)
        .arg(value)
        .arg("EX")
        .arg(TTL)
        .query_async::<()>(connection)
        .await
        .unwrap();
    memory_usage(connection, &key).await
}

/// The longest session value of the user's hash.
async fn longest_value(connection: &mut MultiplexedConnection, user: &str) -> usize {
    let fields: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL")
        .arg(sessions_key(user))
        .query_async(connection)
        .await
        .unwrap();
    fields
        .iter()
        .filter(|(f, _)| f.len() == 16)
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
}

pub async fn run(redis_url: &str, _context: &'static SessionContext, record: &mut Record) -> Section {
    let context = crate::harness::context(settings_with_keys(redis_url, keys_json_with_refresh_kid(README_KID)));
    let mut connection = connect(redis_url).await;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();
    let ipv4 = client_info();
    let ipv6 = ClientInfo {
        ip: IPV6.into(),
        ..client_info()
    };

    // MEMORY USAGE of one user's key, with 10 sessions and with 1, from IPv4 and IPv6.
    let mut measured = Vec::new();
    for client in [&ipv4, &ipv6] {
        let user = user_with_rotated_sessions(context, SESSIONS, client).await;
        let ten = memory_usage(&mut connection, &sessions_key(&user)).await;
        let encoded = encoding(&mut connection, &sessions_key(&user)).await;
        let value_len = longest_value(&mut connection, &user).await;
        let single_user = user_with_rotated_sessions(context, 1, client).await;
        let one = memory_usage(&mut connection, &sessions_key(&single_user)).await;
        measured.push((ten, one, encoded, value_len));
    }
    record.single_session_user_bytes = Some(measured[0].1);
    let tutorial_user = new_user_id();
    let tutorial = tutorial_token(&mut connection, &tutorial_user, "0").await;
    let tutorial_uid_value = tutorial_token(&mut connection, &tutorial_user, &tutorial_user).await;

    // used_memory growth for 1,000 users x 10 sessions, then the same for the tutorial.
    let users = 1000;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();
    let before = used_memory(&mut connection).await;
    for _ in 0..users {
        user_with_rotated_sessions(context, SESSIONS, &ipv4).await;
    }
    let ours_bulk = (used_memory(&mut connection).await - before) as f64 / (users * SESSIONS) as f64;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();
    let before = used_memory(&mut connection).await;
    for _ in 0..users {
        let user = new_user_id();
        let mut pipe = redis::pipe();
        for _ in 0..SESSIONS {
            pipe.cmd("SET")
                .arg(tutorial_key(&user))
                .arg(0)
                .arg("EX")
                .arg(TTL)
                .ignore();
        }
        pipe.query_async::<()>(&mut connection).await.unwrap();
    }
    let tutorial_bulk = (used_memory(&mut connection).await - before) as f64 / (users * SESSIONS) as f64;
    redis::cmd("FLUSHALL").query_async::<()>(&mut connection).await.unwrap();

    let per = |bytes: u64| bytes as f64 / SESSIONS as f64;
    let (v4_ten, v4_one, v4_encoding, v4_len) = measured[0].clone();
    let (v6_ten, v6_one, v6_encoding, v6_len) = measured[1].clone();
    let mut section = Section::new("4. Redis memory per session");
    section.text(format!(
        "Ours: a user with {SESSIONS} sessions, each rotated once (so the grace data exists), opened from a real \
         browser (user agent of {} chars), email of {} chars, the refresh secret's kid of README's key document \
         (`{README_KID}`). A user's whole whitelist is one hash, `sess:{{uid}}`: the email, its verified flag, and one \
         value per session holding everything rotation needs and what `GET /sessions` shows (the device as a 2-byte \
         label, \"Chrome 131, macOS\", and the address that used it last as raw bytes); layout in \
         `shared/src/whitelist/session_record.lua`. Every value stays within the 64 bytes of a listpack entry \
         (`hash-max-listpack-value`, which ElastiCache Serverless does not let anyone change), so Redis keeps the \
         hash in its compact encoding. Tutorial: one string key `{{uid}}:{{jti}}` per token with the value memrizr \
         stores (`0`), and with the user id as value.",
        USER_AGENT.len(),
        EMAIL.len(),
    ));
    let row = |name: String, ours: f64, tutorial: f64| {
        vec![
            name,
            format!("{ours:.0} B"),
            format!("{tutorial:.0} B"),
            fmt_ratio(ours / tutorial),
        ]
    };
    let tutorial_f = tutorial as f64;
    let rows = vec![
        row(
            format!(
                "**`MEMORY USAGE`, user with {SESSIONS} sessions from IPv4 addresses, per session** (`{v4_encoding}`; \
                 session values of {v4_len} B)"
            ),
            per(v4_ten),
            tutorial_f,
        ),
        row(
            format!(
                "`MEMORY USAGE`, user with {SESSIONS} sessions from IPv6 addresses, per session (`{v6_encoding}`; \
                 session values of {v6_len} B)"
            ),
            per(v6_ten),
            tutorial_f,
        ),
        row(
            "`MEMORY USAGE`, user with 1 session (IPv4; the per-user part unshared)".into(),
            v4_one as f64,
            tutorial_f,
        ),
        row("… the same from IPv6".into(), v6_one as f64, tutorial_f),
        row(
            format!("`MEMORY USAGE`, {SESSIONS} sessions (IPv4); tutorial value = user id instead of `0`"),
            per(v4_ten),
            tutorial_uid_value as f64,
        ),
        row(
            format!("`used_memory` growth per session, {users} users × {SESSIONS} (IPv4)"),
            ours_bulk,
            tutorial_bulk,
        ),
    ];
    section.table(&["measure", "ours", "tutorial", "ours / tutorial"], &rows);

    let marginal = (v4_ten - v4_one) as f64 / (SESSIONS - 1) as f64;
    let once = (v4_one as f64 - marginal).max(0.0);
    let ratio = per(v4_ten).max(per(v6_ten)) / tutorial_f;
    section.text(format!(
        "**Reading.** One more session costs {marginal:.0} B (its 16-byte id, its value and the listpack's own bytes); \
         the user pays about {once:.0} B once (key name, hash object, expiry, email). With {SESSIONS} sessions that is \
         {:.0} B a session from IPv4 and {:.0} B from IPv6, {ratio:.2}× the tutorial's key, which holds a token id and \
         nothing else: no grace data, no reuse detection, no lifetime, no email for the id token, nothing for \
         `GET /sessions`. A user with a single session pays the per-user part alone ({v4_one} B). In absolute terms \
         {ours_bulk:.0} B per session (`used_memory`, Redis's own dictionaries included) is about {:.2} GB per million \
         live sessions. What it took (2026-12-06): the two hashes of the previous layout (records, and a second hash of \
         addresses and raw user agents for `GET /sessions`) measured 417 B per session with README's kid; the device \
         label instead of the raw user agent, the address stored once (it also serves the grace check), the kid as a \
         4-byte tag and the previous token id as 8 bytes brought every value under 64 bytes.",
        per(v4_ten),
        per(v6_ten),
        ours_bulk * 1e6 / 1e9,
    ));
    section.goal(Goal::new(
        "Redis memory per session / tutorial's: everything incl. `GET /sessions` metadata (IPv4 or IPv6, the larger)",
        fmt_ratio(ratio),
        "≤ 1.0×",
        ratio <= 1.0,
    ));
    section
}
