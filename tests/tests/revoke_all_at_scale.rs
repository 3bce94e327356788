//! Revoke-all among 1,000,000 unrelated keys: one script call, no SCAN, no KEYS.
//! Ignored by a plain `cargo test` (loading the keys takes a while); `make test`
//! runs it with `--include-ignored`.

use e2e::process::ServerProcess;
use e2e::*;

const UNRELATED_KEYS: usize = 1_000_000;
const BATCH: usize = 20_000;

fn command_calls(info: &str, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test]
#[ignore = "loads 1,000,000 keys; run by `make test`"]
async fn revoke_all_is_one_script_call_whatever_the_size_of_the_keyspace() {
    let redis = ServerProcess::redis(&[]);
    let app = App::adjusted(Target::Standalone, |s| s.redis.url = redis.redis_url()).await;
    let mut admin = redis::Client::open(redis.redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // Unrelated keys, shaped like other users' data and sessions.
    for start in (0..UNRELATED_KEYS).step_by(BATCH) {
        let mut pipe = redis::pipe();
        for n in start..start + BATCH {
            pipe.cmd("SET").arg(format!("sess:{{other-{n}}}:{n}")).arg("x").ignore();
        }
        pipe.query_async::<()>(&mut admin).await.unwrap();
    }

    let (email, signup) = app.new_user().await;
    let mut sessions = vec![signup];
    for _ in 0..9 {
        let signin = app.signin(&email, PASSWORD).await;
        assert_eq!(signin.status, 200);
        sessions.push(signin);
    }
    let dbsize: usize = redis::cmd("DBSIZE").query_async(&mut admin).await.unwrap();
    // 1M unrelated keys, the user's whitelist hash, and what sign-up and sign-in
    // count: the address's sign-up and sign-in counters, the email's sign-in backstop,
    // the verification mail's code and its two request counters (email, address).
    const COUNTERS_AND_CODE: usize = 6;
    assert_eq!(dbsize, UNRELATED_KEYS + 1 + COUNTERS_AND_CODE);

    // The script is cached on the server first (EVALSHA), as in any warm instance.
    app.sessions()
        .whitelist
        .revoke_all("someone-else", shared::time::now_millis())
        .await
        .unwrap();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(&mut admin)
        .await
        .unwrap();

    let response = app.revoke_all(&sessions[0].id_token()).await;
    assert_eq!(response.status, 204);

    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(command_calls(&info, "evalsha"), 1, "{info}");
    assert_eq!(command_calls(&info, "eval"), 0, "{info}");
    for walk in ["scan", "keys"] {
        assert_eq!(
            command_calls(&info, walk),
            0,
            "revoke-all must not walk the keyspace: {info}"
        );
    }
    let dbsize: usize = redis::cmd("DBSIZE").query_async(&mut admin).await.unwrap();
    // Only a one-minute "changed" marker is left of each revoked whitelist (the user's
    // and the warm-up's), so that no sign-in in flight opens a session behind it.
    assert_eq!(
        dbsize,
        UNRELATED_KEYS + COUNTERS_AND_CODE + 2,
        "the user's whitelist is gone, nothing else"
    );
    let user_id = claims_of(&sessions[0].id_token())["sub"].as_str().unwrap().to_string();
    let left: Vec<String> = redis::cmd("HKEYS")
        .arg(shared::whitelist::sessions_key(&user_id))
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, ["c"]);
    for session in &sessions {
        app.refresh(&session.refresh_token())
            .await
            .assert_error(401, "invalid-token");
    }
}
