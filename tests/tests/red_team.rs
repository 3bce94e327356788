//! The promises added after the red-team review (docs/contract.md, "Promises added
//! after a red-team review"), one test each, named after the promise.

use std::time::{Duration, Instant};

use e2e::process::ServerProcess;
use e2e::*;
use serde_json::json;

fn user_of(response: &TestResponse) -> String {
    claims_of(&response.id_token())["sub"].as_str().unwrap().to_string()
}

fn address() -> String {
    let bytes = uuid::Uuid::new_v4();
    let b = bytes.as_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2] % 250 + 1)
}

async fn an_id_token_of_a_dead_session_is_refused_by_every_bearer_endpoint(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let stolen_id_token = signup.id_token();
    assert_eq!(app.revoke_all(&stolen_id_token).await.status, 204);

    // The victim signs in again; the thief's id token (not yet expired) is worth nothing.
    let again = app.signin(&email, PASSWORD).await;
    assert_eq!(again.status, 200);
    app.list_sessions(&stolen_id_token)
        .await
        .assert_error(401, "invalid-token");
    app.revoke_all(&stolen_id_token)
        .await
        .assert_error(401, "invalid-token");
    assert_eq!(
        app.refresh(&again.refresh_token()).await.status,
        200,
        "the new session is untouched"
    );
    assert_eq!(app.list_sessions(&again.id_token()).await.status, 200);
}

async fn the_grace_reply_goes_only_to_the_address_that_rotated(target: Target) {
    let app = App::adjusted(target, |s| s.refresh_grace = Duration::from_secs(2)).await;
    let (_, signup) = app.new_user().await;
    let (client, thief) = (address(), address());
    let rotated = app.refresh_from(&signup.refresh_token(), &client).await;
    assert_eq!(rotated.status, 200);

    // The same address inside the window: the same new refresh token.
    let again = app.refresh_from(&signup.refresh_token(), &client).await;
    assert_eq!(again.refresh_token(), rotated.refresh_token());
    // Another address inside the window: refused, and the session stays.
    app.refresh_from(&signup.refresh_token(), &thief)
        .await
        .assert_error(401, "invalid-token");
    let next = app.refresh_from(&rotated.refresh_token(), &client).await;
    assert_eq!(next.status, 200, "{next:?}");

    // After the window, the previous token from anywhere is reuse: the session ends.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    app.refresh_from(&rotated.refresh_token(), &thief)
        .await
        .assert_error(401, "invalid-token");
    app.refresh_from(&next.refresh_token(), &client)
        .await
        .assert_error(401, "invalid-token");
}

async fn sign_out_accepts_the_current_or_just_rotated_token_and_an_older_one_is_reuse(target: Target) {
    let app = App::new(target).await;
    // Current token: signed out.
    let (email, signup) = app.new_user().await;
    assert_eq!(app.signout(&signup.refresh_token()).await.status, 204);
    // The previous token inside the grace window: signed out.
    let session = app.signin(&email, PASSWORD).await;
    let rotated = app.refresh(&session.refresh_token()).await;
    assert_eq!(rotated.status, 200);
    assert_eq!(app.signout(&session.refresh_token()).await.status, 204);
    app.refresh(&rotated.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    // A token rotated out twice: reuse, 401, and the session ends.
    let session = app.signin(&email, PASSWORD).await;
    let second = app.refresh(&session.refresh_token()).await;
    let third = app.refresh(&second.refresh_token()).await;
    assert_eq!(third.status, 200);
    app.signout(&session.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    app.refresh(&third.refresh_token())
        .await
        .assert_error(401, "invalid-token");
}

async fn a_lockout_cannot_be_aimed_at_an_account(target: Target) {
    let app = App::adjusted(target, |s| {
        s.signin_limit_per_email = 3;
        s.signin_limit_per_ip = 2;
        s.signin_limit_per_email_backstop = 5;
    })
    .await;
    let (victim, _) = app.new_user().await;

    // An address past its own limit: its attempts are refused and count against no email.
    let spent = address();
    for _ in 0..2 {
        let response = app.signin_from(&unique_email(), "wrong password!", &spent).await;
        response.assert_error(401, "invalid-credentials");
    }
    for _ in 0..10 {
        let response = app.signin_from(&victim, "wrong password!", &spent).await;
        response.assert_error(429, "too-many-requests");
    }
    assert_eq!(app.signin_from(&victim, PASSWORD, &address()).await.status, 200);

    // A wrong-password flood from one address locks that address out of this
    // account, not the owner elsewhere.
    let flooding = address();
    let mut statuses = vec![];
    for _ in 0..4 {
        statuses.push(app.signin_from(&victim, "wrong password!", &flooding).await.status);
    }
    assert_eq!(statuses, [401, 401, 429, 429], "2 per address, then refused");
    assert_eq!(app.signin_from(&victim, PASSWORD, &address()).await.status, 200);

    // Many addresses together reach the per-email backstop (5 counted attempts).
    app.signin_from(&victim, "wrong password!", &address())
        .await
        .assert_error(401, "invalid-credentials");
    app.signin_from(&victim, PASSWORD, &address())
        .await
        .assert_error(429, "too-many-requests");
}

on_both_redis_modes!(
    an_id_token_of_a_dead_session_is_refused_by_every_bearer_endpoint,
    the_grace_reply_goes_only_to_the_address_that_rotated,
    sign_out_accepts_the_current_or_just_rotated_token_and_an_older_one_is_reuse,
    a_lockout_cannot_be_aimed_at_an_account,
);

/// Redis stalled past the response timeout: the function answers 503 at once, and
/// the queued rotation, run when Redis wakes, must change nothing.
#[tokio::test]
async fn a_refresh_answered_503_never_costs_the_session() {
    let redis = ServerProcess::redis(&[]);
    let app = App::adjusted(Target::Standalone, |s| {
        s.redis.url = redis.redis_url();
        s.refresh_grace = Duration::from_secs(1);
    })
    .await;
    let (_, signup) = app.new_user().await;
    let token = signup.refresh_token();

    redis.pause();
    let stalled = Instant::now();
    let (response, ()) = tokio::join!(app.refresh(&token), async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        redis.resume();
    });
    response.assert_error(503, "service-unavailable");
    assert!(stalled.elapsed() < Duration::from_secs(2));

    // Well after the grace window, the same token still buys a pair, and it works.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let retried = app.refresh(&token).await;
    assert_eq!(retried.status, 200, "{retried:?}");
    assert_eq!(app.refresh(&retried.refresh_token()).await.status, 200);
}

/// DynamoDB stalled past its timeout: sign-up answers 503, the write lands when it
/// wakes; the client's retry gets its 201, not 409.
#[tokio::test]
async fn a_signup_retried_after_a_503_succeeds_once_the_stores_are_back() {
    let dynamodb = ServerProcess::dynamodb();
    let app = App::on_own_dynamodb(&dynamodb).await;
    app.new_user().await;

    let email = unique_email();
    dynamodb.pause();
    let (response, ()) = tokio::join!(app.signup(&email, PASSWORD), async {
        tokio::time::sleep(Duration::from_millis(1800)).await;
        dynamodb.resume();
    });
    response.assert_error(503, "service-unavailable");
    // The stalled write lands once DynamoDB wakes (bounded wait).
    let pk = format!("EMAIL#{email}");
    for _ in 0..50 {
        if app.dynamodb_item(&pk).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        app.dynamodb_item(&pk).await.is_some(),
        "the lost reply's account exists"
    );

    let retried = app.signup(&email, PASSWORD).await;
    assert_eq!(retried.status, 201, "{retried:?}");
    assert_eq!(app.refresh(&retried.refresh_token()).await.status, 200);
    let user_id = user_of(&retried);
    assert_eq!(
        app.dynamodb_item(&pk).await.unwrap()["userId"].as_s().unwrap(),
        &user_id
    );
    // Anyone else claiming the address still gets 409.
    app.signup(&email, "another password entirely")
        .await
        .assert_error(409, "email-taken");
}

#[tokio::test]
async fn the_discovery_document_advertises_only_endpoints_that_follow_their_rfcs() {
    let app = App::new(Target::Standalone).await;
    let document = app.get("/.well-known/openid-configuration").await.body;
    for non_rfc in [
        "token_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
        "authorization_endpoint",
    ] {
        assert!(document.get(non_rfc).is_none(), "{non_rfc} in {document}");
    }
    assert_eq!(document["issuer"], json!(ISSUER));
}
