//! (2) Revoke-all as the keyspace grows: 10 sessions of one user among 10k, 100k and
//! 1M unrelated keys, our layout (one script deleting the user's own key) beside the
//! tutorial's (`{uid}:{jti}` keys found by `SCAN MATCH uid* COUNT 5`, one `DEL` per
//! key, as memrizr's `DeleteUserRefreshTokens` does).

use std::time::{Duration, Instant};

use e2e::process::ServerProcess;
use redis::aio::MultiplexedConnection;
use shared::context::SessionContext;
use shared::time::now_millis;

use crate::harness::*;
use crate::report::{Goal, Section};

const BATCH: usize = 10_000;
const USER_SESSIONS: usize = 10;

/// Loads `count` unrelated keys, shaped like other users' data of both layouts.
async fn load(connection: &mut MultiplexedConnection, count: usize) {
    let mut start = 0;
    while start < count {
        let end = (start + BATCH).min(count);
        let mut pipe = redis::pipe();
        for n in start..end {
            if n % 2 == 0 {
                pipe.cmd("SET").arg(format!("sess:{{other-{n}}}:{n}")).arg("x").ignore();
            } else {
                pipe.cmd("SET").arg(format!("other-{n}:{n}")).arg("0").ignore();
            }
        }
        pipe.query_async::<()>(connection).await.unwrap();
        start = end;
    }
}

async fn ours_once(context: &SessionContext, connection: &mut MultiplexedConnection) -> Duration {
    let user = new_user_id();
    for _ in 0..USER_SESSIONS {
        open_session(context, &user, false).await;
    }
    let started = Instant::now();
    let removed = context.whitelist.revoke_all(&user, now_millis()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(removed, USER_SESSIONS as u64);
    // Revoke-all leaves a one-minute marker (`sess:{uid}` holding when the sessions
    // changed, against sign-ins in flight); removed here, untimed, so that the keyspace
    // the tutorial then walks is the unrelated keys alone.
    redis::cmd("DEL")
        .arg(shared::whitelist::sessions_key(&user))
        .query_async::<()>(connection)
        .await
        .unwrap();
    elapsed
}

/// The tutorial's revoke-all; returns its time and how many SCAN calls it made.
async fn tutorial_once(connection: &mut MultiplexedConnection) -> (Duration, u64) {
    let user = new_user_id();
    let mut pipe = redis::pipe();
    for _ in 0..USER_SESSIONS {
        pipe.cmd("SET")
            .arg(format!("{user}:{}", uuid::Uuid::new_v4()))
            .arg(0)
            .arg("EX")
            .arg(3 * 24 * 3600)
            .ignore();
    }
    pipe.query_async::<()>(connection).await.unwrap();

    let started = Instant::now();
    let pattern = format!("{user}*");
    let (mut cursor, mut scans, mut deleted) = (0u64, 0u64, 0u64);
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(5)
            .query_async(connection)
            .await
            .unwrap();
        scans += 1;
        for key in keys {
            deleted += redis::cmd("DEL").arg(key).query_async::<u64>(connection).await.unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let elapsed = started.elapsed();
    assert_eq!(deleted, USER_SESSIONS as u64);
    (elapsed, scans)
}

pub struct Point {
    pub keys: usize,
    pub ours: Samples,
    pub tutorial: Samples,
    pub scans: u64,
}

/// One redis-server holding `keys` unrelated keys, and a service context on it.
struct Keyspace {
    keys: usize,
    _server: ServerProcess,
    url: String,
    context: &'static SessionContext,
}

pub async fn run(scale: Scale) -> Section {
    let sizes: Vec<usize> = if scale.quick {
        vec![10_000, 100_000]
    } else {
        vec![10_000, 100_000, 1_000_000]
    };
    // One server per size, so that ours can be measured round-robin across the sizes
    // and the machine's drift cannot pass for growth.
    let mut keyspaces = Vec::new();
    for &keys in &sizes {
        let server = ServerProcess::redis(&[]);
        let url = server.redis_url();
        let mut connection = connect(&url).await;
        load(&mut connection, keys).await;
        let context = context(settings_for(&url));
        // The script is cached on the server first, as in any warm instance (its
        // one-minute marker removed, as after every call of ours).
        context.whitelist.revoke_all("warm-up", now_millis()).await.unwrap();
        redis::cmd("DEL")
            .arg(shared::whitelist::sessions_key("warm-up"))
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
        keyspaces.push(Keyspace {
            keys,
            _server: server,
            url,
            context,
        });
    }
    // Redis grows its keyspace table incrementally; let it finish before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let reps = scale.n(300, 50);
    let mut ours: Vec<Vec<Duration>> = keyspaces.iter().map(|_| Vec::with_capacity(reps)).collect();
    let mut connections = Vec::new();
    for keyspace in &keyspaces {
        connections.push(connect(&keyspace.url).await);
    }
    for _ in 0..reps {
        for (i, keyspace) in keyspaces.iter().enumerate() {
            ours[i].push(ours_once(keyspace.context, &mut connections[i]).await);
        }
    }

    let mut points = Vec::new();
    for (keyspace, ours) in keyspaces.iter().zip(ours) {
        let mut connection = connect(&keyspace.url).await;
        // A SCAN walk of 1M keys takes seconds: bounded by count and by time.
        let (mut tutorial, mut scans) = (Vec::new(), 0);
        let budget = Instant::now();
        while tutorial.len() < 2 || (tutorial.len() < 20 && budget.elapsed() < Duration::from_secs(8)) {
            let (elapsed, calls) = tutorial_once(&mut connection).await;
            tutorial.push(elapsed);
            scans = calls;
        }
        let dbsize: usize = redis::cmd("DBSIZE").query_async(&mut connection).await.unwrap();
        if dbsize != keyspace.keys {
            let mut stray = Vec::new();
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                stray.extend(keys.into_iter().filter(|k| !k.contains("other-")));
                if next == 0 || stray.len() > 5 {
                    break;
                }
                cursor = next;
            }
            panic!("only the unrelated keys should be left: {dbsize} keys, among them {stray:?}");
        }
        points.push(Point {
            keys: keyspace.keys,
            ours: Samples::new(ours),
            tutorial: Samples::new(tutorial),
            scans,
        });
    }
    drop(keyspaces);

    let mut section = Section::new("2. Revoke-all against the size of the keyspace");
    section.text(format!(
        "One user's {USER_SESSIONS} sessions among N unrelated keys (loaded with pipelines; one redis-server per size, \
         ours measured round-robin across them). Ours: \
         `Whitelist::revoke_all`, one `EVALSHA` of `revoke_all.lua`, which deletes the user's one hash and leaves a \
         one-minute marker (removed after each timed call, so that the keyspace stays N keys) \
         (the handler adds a constant RS256 verification, see section 1). Tutorial: the same {USER_SESSIONS} tokens as \
         `{{uid}}:{{jti}}` keys, removed by `SCAN cursor MATCH uid* COUNT 5` until the cursor is 0 and one `DEL` per key found."
    ));
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                fmt_count(p.keys as u64),
                fmt_us(p.ours.p50()),
                fmt_us(p.ours.p99()),
                format!("{}", p.ours.len()),
                fmt_ms(p.tutorial.p50()),
                format!("{}", p.tutorial.len()),
                fmt_count(p.scans),
                fmt_ratio(ratio(p.tutorial.p50(), p.ours.p50())),
            ]
        })
        .collect();
    section.table(
        &[
            "unrelated keys",
            "ours p50",
            "ours p99",
            "runs",
            "tutorial p50",
            "runs",
            "SCAN calls",
            "tutorial / ours",
        ],
        &rows,
    );
    let (first, last) = (points.first().unwrap(), points.last().unwrap());
    let ours_growth = ratio(last.ours.p50(), first.ours.p50());
    let tutorial_growth = ratio(last.tutorial.p50(), first.tutorial.p50());
    let label = format!("{}/{}", short(last.keys), short(first.keys));
    section.table(
        &["growth", "ours", "tutorial"],
        &[vec![
            format!("time at {} keys / time at {}", short(last.keys), short(first.keys)),
            fmt_ratio(ours_growth),
            fmt_ratio(tutorial_growth),
        ]],
    );
    section.text(format!(
        "**Reading.** Ours deletes the user's own key, whose name it knows: its time does not depend on the rest of \
         the keyspace ({} from {} to {} keys; the variation is noise). The tutorial's revoke-all walks the whole keyspace \
         five buckets at a time, one round trip each: {} SCAN calls at {} keys, and it grows with the keyspace ({}).",
        fmt_ratio(ours_growth),
        short(first.keys),
        short(last.keys),
        fmt_count(last.scans),
        short(last.keys),
        fmt_ratio(tutorial_growth),
    ));
    section.goal(Goal::new(
        format!("revoke-all {label} keys time ratio"),
        fmt_ratio(ours_growth),
        "≤ 1.2×",
        ours_growth <= 1.2,
    ));
    section
}

fn short(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
