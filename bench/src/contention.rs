//! (3) Rotation under contention: 50 callers present the same refresh token at once.
//!
//! Every caller has its own connection (as 50 Lambda instances would), all are
//! connected and warm before a barrier releases them together. Ours must rotate
//! exactly once and hand all 50 the same new refresh token (the winner's, re-minted
//! in the grace window). The tutorial's rotation is run the same way in two forms:
//! as the issue describes it (GET the key, DEL it, SET the new one: a
//! check-then-act race) and as memrizr finally shipped it (DEL, refuse if it
//! deleted nothing, SET the new one).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use shared::api;
use shared::context::SessionContext;
use shared::runtime::respond;
use shared::time::now_millis;
use shared::whitelist::{id_bytes, id_string, PREVIOUS_JTI_BYTES};
use tokio::sync::Barrier;

use crate::harness::*;
use crate::report::{Goal, Section};

pub const CALLERS: usize = 50;

#[derive(Default)]
struct Tally {
    /// Callers that got a new pair (200).
    served: Vec<usize>,
    /// Distinct refresh tokens handed out in one trial: the number of forks.
    distinct_tokens: Vec<usize>,
    /// Callers refused (401): logged out.
    refused: Vec<usize>,
    /// Live tokens of the session in Redis after the trial.
    live_after: Vec<usize>,
    wall: Vec<Duration>,
}

impl Tally {
    fn range(values: &[usize]) -> String {
        let (min, max) = (values.iter().min().unwrap(), values.iter().max().unwrap());
        if min == max {
            format!("{min}")
        } else {
            format!("{min}–{max}")
        }
    }

    fn row(&self, name: &str) -> Vec<String> {
        vec![
            name.to_string(),
            Self::range(&self.served),
            Self::range(&self.distinct_tokens),
            Self::range(&self.refused),
            Self::range(&self.live_after),
            fmt_ms(Samples::new(self.wall.clone()).p50()),
        ]
    }
}

/// Releases the callers waiting on the barrier together and records how long until the
/// last one answered.
async fn release_and_time<T>(
    barrier: &Barrier,
    tasks: Vec<tokio::task::JoinHandle<T>>,
    wall: &mut Vec<Duration>,
) -> Vec<T> {
    barrier.wait().await;
    let started = Instant::now();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    wall.push(started.elapsed());
    outcomes
}

/// Ours' tally, and per trial how many callers got the most common refresh token.
async fn ours(instances: &[&'static SessionContext], trials: usize) -> (Tally, Vec<usize>) {
    let mut tally = Tally::default();
    let mut identical = Vec::with_capacity(trials);
    let context = instances[0];
    for _ in 0..trials {
        let user = new_user_id();
        let minted = open_session(context, &user, false).await;
        let barrier = Arc::new(Barrier::new(CALLERS + 1));
        let mut tasks = Vec::new();
        for &instance in instances {
            let (barrier, request) = (barrier.clone(), refresh_request(&minted.refresh_token));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                read_response(&respond(instance, request, api::refresh::handle).await)
            }));
        }
        let outcomes = release_and_time(&barrier, tasks, &mut tally.wall).await;

        let tokens: Vec<String> = outcomes
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| refresh_token_of(b))
            .collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for token in &tokens {
            *counts.entry(token).or_default() += 1;
        }
        identical.push(counts.values().copied().max().unwrap_or(0));
        tally.served.push(tokens.len());
        tally.distinct_tokens.push(counts.len());
        tally.refused.push(outcomes.iter().filter(|(s, _)| *s == 401).count());

        // The session moved exactly once: its current jti is the one every caller got.
        let session = context
            .whitelist
            .session(&user, &minted.grant.session_id)
            .await
            .unwrap();
        let returned: HashSet<String> = tokens
            .iter()
            .map(|t| e2e::claims_of(t)["jti"].as_str().unwrap().to_string())
            .collect();
        let (jti, previous) = session
            .as_ref()
            .map(|s| (id_string(&s.jti), Some(s.previous_jti.to_vec())))
            .unwrap_or_default();
        // The record keeps the previous jti's first bytes (session_record.lua).
        let presented = id_bytes(&minted.grant.jti).unwrap();
        assert_eq!(
            previous.as_deref(),
            Some(&presented[..PREVIOUS_JTI_BYTES]),
            "the session rotated away from the presented token"
        );
        assert!(
            jti.as_ref().is_some_and(|j| returned.contains(j)),
            "the session's jti is the one handed out"
        );
        // One session, so one live refresh token: the one its `jti` names.
        let live = usize::from(session.is_some_and(|s| s.is_live(now_millis())));
        tally.live_after.push(live);
    }
    (tally, identical)
}

#[derive(Clone, Copy, PartialEq)]
enum Tutorial {
    /// GET {uid}:{jti}; if it exists DEL it and SET {uid}:{new jti}.
    GetDelSet,
    /// DEL {uid}:{jti}; if it deleted nothing refuse, else SET {uid}:{new jti}.
    DelCheckedSet,
}

async fn tutorial(connections: &[MultiplexedConnection], variant: Tutorial, trials: usize) -> Tally {
    let mut tally = Tally::default();
    let mut admin = connections[0].clone();
    let ttl = 3 * 24 * 3600;
    for _ in 0..trials {
        let user = new_user_id();
        let presented = format!("{user}:{}", uuid::Uuid::new_v4());
        redis::cmd("SET")
            .arg(&presented)
            .arg(0)
            .arg("EX")
            .arg(ttl)
            .query_async::<()>(&mut admin)
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(CALLERS + 1));
        let mut tasks = Vec::new();
        for connection in connections {
            let (barrier, mut connection, presented, user) =
                (barrier.clone(), connection.clone(), presented.clone(), user.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let allowed = match variant {
                    Tutorial::GetDelSet => {
                        let found: Option<String> = redis::cmd("GET")
                            .arg(&presented)
                            .query_async(&mut connection)
                            .await
                            .unwrap();
                        if found.is_some() {
                            redis::cmd("DEL")
                                .arg(&presented)
                                .query_async::<u64>(&mut connection)
                                .await
                                .unwrap();
                        }
                        found.is_some()
                    }
                    Tutorial::DelCheckedSet => {
                        redis::cmd("DEL")
                            .arg(&presented)
                            .query_async::<u64>(&mut connection)
                            .await
                            .unwrap()
                            == 1
                    }
                };
                if !allowed {
                    return None;
                }
                let new_jti = uuid::Uuid::new_v4().to_string();
                redis::cmd("SET")
                    .arg(format!("{user}:{new_jti}"))
                    .arg(0)
                    .arg("EX")
                    .arg(ttl)
                    .query_async::<()>(&mut connection)
                    .await
                    .unwrap();
                Some(new_jti)
            }));
        }
        let outcomes = release_and_time(&barrier, tasks, &mut tally.wall).await;
        let issued: HashSet<String> = outcomes.iter().flatten().cloned().collect();
        tally.served.push(outcomes.iter().filter(|o| o.is_some()).count());
        tally.distinct_tokens.push(issued.len());
        tally.refused.push(outcomes.iter().filter(|o| o.is_none()).count());
        let live: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{user}:*"))
            .query_async(&mut admin)
            .await
            .unwrap();
        tally.live_after.push(live.len());
    }
    tally
}

pub async fn run(scale: Scale, redis_url: &str, floors: &crate::latency::Floors) -> Section {
    let trials = scale.n(20, 5);
    let mut instances = Vec::with_capacity(CALLERS);
    for _ in 0..CALLERS {
        let instance = context(settings_for(redis_url));
        // Connected before the race starts, as a warm Lambda instance is.
        instance
            .whitelist
            .is_live(&new_user_id(), &id_string(&[0; 16]).unwrap(), now_millis())
            .await
            .unwrap();
        instances.push(instance);
    }
    let (ours, identical) = ours(&instances, trials).await;
    let mut connections = Vec::with_capacity(CALLERS);
    for _ in 0..CALLERS {
        connections.push(connect(redis_url).await);
    }
    let get_del_set = tutorial(&connections, Tutorial::GetDelSet, trials).await;
    let del_checked = tutorial(&connections, Tutorial::DelCheckedSet, trials).await;

    let mut section = Section::new("3. Rotation under contention");
    section.text(format!(
        "{CALLERS} callers, each on its own connection (as {CALLERS} Lambda instances), connected and warm, released together \
         by a barrier and presenting the same refresh token; {trials} trials per row, ranges are min–max over the trials. \
         Ours runs the refresh handler; the tutorial rows run its Redis commands the same way."
    ));
    section.table(
        &[
            "rotation",
            "callers served a new pair",
            "distinct refresh tokens handed out",
            "callers refused (401)",
            "live tokens after",
            "wall time p50",
        ],
        &[
            ours.row("ours: `rotate.lua` (one script) + grace"),
            get_del_set.row("tutorial as the issue describes it: GET, DEL, SET"),
            del_checked.row("tutorial as memrizr ships it: DEL (refuse if 0), SET"),
        ],
    );
    section.text(format!(
        "Ours: exactly one rotation per trial (the session record's previous jti is the presented token's and its current jti the one handed out), \
         and {} of {CALLERS} callers received the byte-identical refresh token. The GET-DEL-SET form lets \
         every caller that read the key before the first DEL through, each with a different token: the session forks into \
         that many live tokens. The DEL-checked form is race-free but refuses everyone except the winner: a client that \
         fires concurrent refreshes is logged out.",
        Tally::range(&identical)
    ));
    section.text(format!(
        "Wall time: each of ours' {CALLERS} answers carries a fresh RS256 id token, signed on the bench's one runtime \
         thread (as in a function's `main`), so the {CALLERS} signatures alone take {CALLERS} × {} ≈ {} of it; the \
         tutorial rows only run Redis commands and sign nothing.",
        fmt_us(floors.rs256_sign_cached.p50()),
        fmt_ms(floors.rs256_sign_cached.p50() * CALLERS as u32 / RUNTIME_THREADS as u32),
    ));
    let forks = *ours.distinct_tokens.iter().max().unwrap();
    let all_served = ours.served.iter().all(|&s| s == CALLERS);
    section.goal(Goal::new(
        format!("{CALLERS} concurrent refreshes of one token: rotations, callers served"),
        format!("{forks} rotation, {} served", Tally::range(&ours.served)),
        format!("1 rotation, {CALLERS} served"),
        forks == 1 && all_served,
    ));
    section
}
