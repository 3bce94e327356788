//! A dependency that is down, paused or drops our connection costs a fast 503 with
//! `Retry-After`, never a hang or a 500, loses nothing, and the same function
//! instance works again as soon as the dependency is back.

use std::time::{Duration, Instant};

use e2e::process::ServerProcess;
use e2e::*;

/// An app whose whitelist lives on a Redis of its own.
async fn app_on(redis: &ServerProcess) -> App {
    App::adjusted(Target::Standalone, |s| s.redis.url = redis.redis_url()).await
}

fn assert_unavailable(response: &TestResponse, started: Instant, within: Duration) {
    let elapsed = started.elapsed();
    response.assert_error(503, "service-unavailable");
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(elapsed < within, "503 took {elapsed:?}");
}

#[tokio::test]
async fn signup_with_redis_down_is_503_fast_and_the_retry_after_recovery_is_201() {
    let mut redis = ServerProcess::redis(&[]);
    let app = app_on(&redis).await;
    app.new_user().await; // the connection is established and then goes away
    redis.stop();

    let email = unique_email();
    let started = Instant::now();
    let response = app.signup(&email, PASSWORD).await;
    assert_unavailable(&response, started, Duration::from_secs(2));

    redis.start();
    let retried = app.signup(&email, PASSWORD).await;
    assert_eq!(retried.status, 201, "no half-registered account: {retried:?}");
}

#[tokio::test]
async fn signup_with_dynamodb_down_is_503_fast_and_the_retry_after_recovery_is_201() {
    let mut dynamodb = ServerProcess::dynamodb();
    let redis = ServerProcess::redis(&[]);
    let table = "accounts";
    create_table(&dynamodb.http_url(), table).await;
    let mut settings = e2e::settings(Target::Standalone);
    settings.redis.url = redis.redis_url();
    settings.dynamodb.endpoint = Some(dynamodb.http_url());
    settings.dynamodb.table = table.into();
    let app = App::with(settings).await;
    app.new_user().await;
    let mut admin = app.redis().await;
    let keys_before: i64 = redis::cmd("DBSIZE").query_async(&mut admin).await.unwrap();
    dynamodb.stop();

    let email = unique_email();
    let started = Instant::now();
    let response = app.signup(&email, PASSWORD).await;
    assert_unavailable(&response, started, Duration::from_secs(2));
    // The session opened before the failed write was removed again.
    let keys_after: i64 = redis::cmd("DBSIZE").query_async(&mut admin).await.unwrap();
    assert_eq!(keys_after, keys_before);

    // DynamoDB Local is in memory: back up, its table is created again.
    dynamodb.start();
    create_table(&dynamodb.http_url(), table).await;
    let retried = app.signup(&email, PASSWORD).await;
    assert_eq!(retried.status, 201, "{retried:?}");
}

#[tokio::test]
async fn redis_killed_mid_run_is_503_within_a_second_and_the_next_request_after_restart_succeeds() {
    let mut redis = ServerProcess::redis(&[]);
    let app = app_on(&redis).await;
    let (_, signup) = app.new_user().await;
    let refreshed = app.refresh(&signup.refresh_token()).await;
    assert_eq!(refreshed.status, 200);

    redis.stop();
    let started = Instant::now();
    let response = app.refresh(&refreshed.refresh_token()).await;
    assert_unavailable(&response, started, Duration::from_secs(1));

    // Redis lost everything (no persistence): the session is gone, as documented;
    // what matters here is that the same instance answers again without a restart.
    redis.start();
    let (_, again) = app.new_user().await;
    assert_eq!(app.refresh(&again.refresh_token()).await.status, 200);
}

#[tokio::test]
async fn a_killed_connection_is_re_established_without_failing_the_request() {
    let redis = ServerProcess::redis(&[]);
    let app = app_on(&redis).await;
    let (_, signup) = app.new_user().await;

    // What a Lambda instance finds after a long freeze: its socket closed by the server.
    let mut admin = redis::Client::open(redis.redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(killed >= 1);

    let response = app.refresh(&signup.refresh_token()).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn a_redis_that_accepts_connections_but_never_answers_is_503_within_the_timeout() {
    let redis = ServerProcess::redis(&[]);
    let app = app_on(&redis).await;
    let (_, signup) = app.new_user().await;

    redis.pause();
    let started = Instant::now();
    let response = app.refresh(&signup.refresh_token()).await;
    // Response timeout 500 ms (+ connect timeout if a reconnect is attempted).
    assert_unavailable(&response, started, Duration::from_millis(1500));
    let started = Instant::now();
    let response = app
        .call(
            Function::Signup,
            json_post(
                "/signup",
                &serde_json::json!({"email": unique_email(), "password": PASSWORD}),
            ),
        )
        .await;
    assert_unavailable(&response, started, Duration::from_secs(2));
    redis.resume();

    let response = app.refresh(&signup.refresh_token()).await;
    assert_eq!(response.status, 200, "works again once Redis answers: {response:?}");
}
