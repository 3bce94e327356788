//! The account lifecycle, part 1 (docs/contract.md, "Accounts: the whole
//! lifecycle"): change the password, end one device's session, delete the account.

use std::time::Duration;

use e2e::process::ServerProcess;
use e2e::*;
use serde_json::json;

fn user_of(response: &TestResponse) -> String {
    claims_of(&response.id_token())["sub"].as_str().unwrap().to_string()
}

fn sid_of(response: &TestResponse) -> String {
    claims_of(&response.id_token())["sid"].as_str().unwrap().to_string()
}

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn changing_the_password_keeps_the_calling_session_and_ends_every_other(target: Target) {
    let app = App::new(target).await;
    let (email, a) = app.new_user().await;
    let (b, c) = (app.signin(&email, PASSWORD).await, app.signin(&email, PASSWORD).await);

    let changed = app.change_password(&a.id_token(), PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status, 204, "{changed:?}");
    assert_eq!(
        app.refresh(&a.refresh_token()).await.status,
        200,
        "the caller's session stays"
    );
    for other in [&b, &c] {
        app.refresh(&other.refresh_token())
            .await
            .assert_error(401, "invalid-token");
        app.list_sessions(&other.id_token())
            .await
            .assert_error(401, "invalid-token");
    }
    app.signin(&email, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");
    assert_eq!(app.signin(&email, NEW_PASSWORD).await.status, 200);
}

async fn a_wrong_current_password_is_401_and_counts_as_a_signin_attempt(target: Target) {
    let app = App::adjusted(target, |s| s.signin_limit_per_email = 2).await;
    let (email, signup) = app.new_user().await;
    for _ in 0..2 {
        app.change_password(&signup.id_token(), "not the password", NEW_PASSWORD)
            .await
            .assert_error(401, "invalid-credentials");
    }
    // The next guess, by either door, waits out the window.
    app.change_password(&signup.id_token(), PASSWORD, NEW_PASSWORD)
        .await
        .assert_error(429, "too-many-requests");
    app.signin(&email, PASSWORD)
        .await
        .assert_error(429, "too-many-requests");
}

async fn bad_password_change_requests_get_the_error_shape_and_change_nothing(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let same = app.change_password(&signup.id_token(), PASSWORD, PASSWORD).await;
    same.assert_error(400, "validation-failed");
    assert!(same.body["error"]["fields"]["newPassword"].is_string());
    let short = app.change_password(&signup.id_token(), PASSWORD, "short").await;
    short.assert_error(400, "validation-failed");
    for body in [
        json!({"currentPassword": PASSWORD}),
        json!({"currentPassword": 1, "newPassword": NEW_PASSWORD}),
        json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "extra": true}),
    ] {
        let request = App::bearer_json("POST", "/password/change", &signup.id_token(), &body);
        app.call(Function::Account, request)
            .await
            .assert_error(400, "validation-failed");
    }
    let wrong_method = App::bearer_json("GET", "/password/change", &signup.id_token(), &json!({}));
    app.call(Function::Account, wrong_method)
        .await
        .assert_error(405, "method-not-allowed");
    assert_eq!(app.signin(&email, PASSWORD).await.status, 200, "nothing changed");
}

async fn a_password_change_racing_a_refresh_never_leaves_the_other_session_alive(target: Target) {
    let app = App::new(target).await;
    for round in 0..5 {
        let (email, a) = app.new_user().await;
        let b = app.signin(&email, PASSWORD).await;
        let (id_token, refresh_token) = (a.id_token(), b.refresh_token());
        let (changed, refreshed) = tokio::join!(
            app.change_password(&id_token, PASSWORD, NEW_PASSWORD),
            app.refresh(&refresh_token),
        );
        assert_eq!(changed.status, 204, "round {round}: {changed:?}");
        let newest = if refreshed.status == 200 {
            refreshed.refresh_token()
        } else {
            b.refresh_token()
        };
        app.refresh(&newest).await.assert_error(401, "invalid-token");
    }
}

async fn ending_one_session_kills_its_refresh_token_and_its_id_tokens_at_once(target: Target) {
    let app = App::new(target).await;
    let (email, a) = app.new_user().await;
    let b = app.signin(&email, PASSWORD).await;
    assert_eq!(app.end_session(&a.id_token(), &sid_of(&b)).await.status, 204);
    app.refresh(&b.refresh_token()).await.assert_error(401, "invalid-token");
    assert!(!app.authorize(&b.id_token()).await.is_authorized);
    app.list_sessions(&b.id_token())
        .await
        .assert_error(401, "invalid-token");
    assert_eq!(
        app.refresh(&a.refresh_token()).await.status,
        200,
        "the other device is untouched"
    );
}

async fn ending_a_session_the_user_does_not_have_is_404(target: Target) {
    let app = App::new(target).await;
    let (_, mine) = app.new_user().await;
    let (_, theirs) = app.new_user().await;
    let already_ended = {
        let (email, _) = app.new_user().await;
        let session = app.signin(&email, PASSWORD).await;
        assert_eq!(app.signout(&session.refresh_token()).await.status, 204);
        sid_of(&session)
    };
    for id in [
        sid_of(&theirs),
        already_ended,
        "not-an-id".into(),
        "0".repeat(32),
        "%2e%2e".into(),
    ] {
        app.end_session(&mine.id_token(), &id)
            .await
            .assert_error(404, "not-found");
    }
    assert_eq!(
        app.refresh(&theirs.refresh_token()).await.status,
        200,
        "another user's session is untouched"
    );
}

async fn deleting_the_account_removes_everything_and_the_email_can_sign_up_again(target: Target) {
    let app = App::new(target).await;
    let (email, a) = app.new_user().await;
    let b = app.signin(&email, PASSWORD).await;
    let user_id = user_of(&a);

    app.delete_account(&a.id_token(), "not the password")
        .await
        .assert_error(401, "invalid-credentials");
    assert_eq!(
        app.refresh(&b.refresh_token()).await.status,
        200,
        "a refused deletion changes nothing"
    );

    assert_eq!(app.delete_account(&a.id_token(), PASSWORD).await.status, 204);
    assert!(app.dynamodb_item(&format!("USER#{user_id}")).await.is_none());
    assert!(app.dynamodb_item(&format!("EMAIL#{email}")).await.is_none());
    let live = app
        .sessions()
        .whitelist
        .list_sessions(&user_id, shared::time::now_millis())
        .await
        .unwrap();
    assert!(live.is_empty(), "{live:?}");
    app.refresh(&a.refresh_token()).await.assert_error(401, "invalid-token");
    assert!(!app.authorize(&a.id_token()).await.is_authorized);
    app.signin(&email, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");

    let again = app.signup(&email, NEW_PASSWORD).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_ne!(user_of(&again), user_id);
}

async fn the_new_bearer_endpoints_refuse_an_id_token_whose_session_ended(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let live = app.signin(&email, PASSWORD).await;
    assert_eq!(app.signout(&signup.refresh_token()).await.status, 204);
    let dead = signup.id_token();
    app.change_password(&dead, PASSWORD, NEW_PASSWORD)
        .await
        .assert_error(401, "invalid-token");
    app.delete_account(&dead, PASSWORD)
        .await
        .assert_error(401, "invalid-token");
    app.end_session(&dead, &sid_of(&live))
        .await
        .assert_error(401, "invalid-token");
    assert_eq!(app.refresh(&live.refresh_token()).await.status, 200);
}

on_both_redis_modes!(
    changing_the_password_keeps_the_calling_session_and_ends_every_other,
    a_wrong_current_password_is_401_and_counts_as_a_signin_attempt,
    bad_password_change_requests_get_the_error_shape_and_change_nothing,
    a_password_change_racing_a_refresh_never_leaves_the_other_session_alive,
    ending_one_session_kills_its_refresh_token_and_its_id_tokens_at_once,
    ending_a_session_the_user_does_not_have_is_404,
    deleting_the_account_removes_everything_and_the_email_can_sign_up_again,
    the_new_bearer_endpoints_refuse_an_id_token_whose_session_ended,
    a_sign_in_that_raced_a_change_of_credentials_opens_nothing,
);

#[tokio::test]
async fn a_deletion_during_a_dynamodb_outage_is_503_leaves_the_account_intact_and_succeeds_on_retry() {
    let dynamodb = ServerProcess::dynamodb();
    let app = App::on_own_dynamodb(&dynamodb).await;
    let (email, signup) = app.new_user().await;
    let other = app.signin(&email, PASSWORD).await;

    dynamodb.pause();
    let id_token = signup.id_token();
    let (response, ()) = tokio::join!(app.delete_account(&id_token, PASSWORD), async {
        tokio::time::sleep(Duration::from_millis(1800)).await;
        dynamodb.resume();
    });
    response.assert_error(503, "service-unavailable");
    // Nothing half-deleted: the account signs in, both sessions live on.
    assert_eq!(app.signin(&email, PASSWORD).await.status, 200);
    assert_eq!(app.refresh(&other.refresh_token()).await.status, 200);

    let retried = app.delete_account(&signup.id_token(), PASSWORD).await;
    assert_eq!(retried.status, 204, "{retried:?}");
    app.signin(&email, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");
}

/// A sign-in that read the password hash before a password change, a disable or a
/// deletion (their last step ends sessions) opens no session after it.
async fn a_sign_in_that_raced_a_change_of_credentials_opens_nothing(target: Target) {
    use shared::whitelist::Opener;
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let user_id = claims_of(&signup.id_token())["sub"].as_str().unwrap().to_string();
    let whitelist = &app.sessions().whitelist;
    let identity = shared::tokens::Identity {
        email,
        email_verified: false,
        signed_in_with_otp: false,
    };
    let proof_read_ms = shared::time::now_millis();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(app.revoke_all(&signup.id_token()).await.status, 204);
    let kid = app.sessions().tokens.refresh_kid();
    let late = Opener {
        user_id: &user_id,
        identity: &identity,
        proof_read_ms,
    };
    let opened = whitelist
        .open_session(&late, &Default::default(), kid, shared::time::now_millis())
        .await;
    assert_eq!(opened.unwrap_err(), shared::ApiError::InvalidCredentials);
    let fresh = Opener {
        proof_read_ms: shared::time::now_millis(),
        ..late
    };
    assert!(whitelist
        .open_session(&fresh, &Default::default(), kid, shared::time::now_millis())
        .await
        .is_ok());
}
