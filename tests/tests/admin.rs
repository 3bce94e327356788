//! The operators' lever (docs/contract.md, "Operators"): the `admin` function, run
//! exactly as its `main` runs it, against the real stores.

use e2e::*;
use serde_json::json;

fn user_of(response: &TestResponse) -> String {
    claims_of(&response.id_token())["sub"].as_str().unwrap().to_string()
}

async fn a_disabled_user_cannot_sign_in_refresh_or_pass_the_authorizer_at_once(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let disabled = app.admin(json!({"action": "disable-user", "email": email})).await;
    assert_eq!(disabled["result"]["disabled"], true, "{disabled}");
    assert_eq!(disabled["result"]["sessionsEnded"], 1);

    let refused = app.signin(&email, PASSWORD).await;
    refused.assert_error(401, "invalid-credentials");
    let wrong_password = app.signin(&email, "not the password").await;
    assert_eq!(refused.body, wrong_password.body, "disabling reveals nothing");
    app.refresh(&signup.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    assert!(!app.authorize(&signup.id_token()).await.is_authorized);

    // Enabling restores sign-in, not the old sessions.
    let enabled = app
        .admin(json!({"action": "enable-user", "userId": user_of(&signup)}))
        .await;
    assert_eq!(enabled["result"]["disabled"], false, "{enabled}");
    assert_eq!(app.signin(&email, PASSWORD).await.status, 200);
    app.refresh(&signup.refresh_token())
        .await
        .assert_error(401, "invalid-token");
}

async fn get_user_describes_the_account_without_any_secret(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    app.signin(&email, PASSWORD).await;
    let answer = app
        .admin(json!({"action": "get-user", "email": email.to_uppercase()}))
        .await;
    let user = &answer["user"];
    assert_eq!(user["id"], json!(user_of(&signup)), "{answer}");
    assert_eq!(user["email"], json!(email));
    assert_eq!(
        (user["disabled"].clone(), user["liveSessions"].clone()),
        (json!(false), json!(2))
    );
    assert_eq!(
        (user["emailVerified"].clone(), user["mfaEnabled"].clone()),
        (json!(false), json!(false))
    );
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
    let text = answer.to_string();
    assert!(!text.contains("argon2") && !text.contains("passwordHash"), "{text}");
}

async fn sign_out_user_ends_every_session_and_the_account_stays(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let answer = app.admin(json!({"action": "sign-out-user", "email": email})).await;
    assert_eq!(answer["result"]["sessionsEnded"], 1, "{answer}");
    app.refresh(&signup.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    assert_eq!(app.signin(&email, PASSWORD).await.status, 200);
}

async fn delete_user_removes_the_account_and_its_sessions(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let answer = app.admin(json!({"action": "delete-user", "email": email})).await;
    assert_eq!(answer["result"]["deleted"], true, "{answer}");
    app.refresh(&signup.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    app.signin(&email, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");
    assert_eq!(app.signup(&email, PASSWORD).await.status, 201);
}

on_both_redis_modes!(
    a_disabled_user_cannot_sign_in_refresh_or_pass_the_authorizer_at_once,
    get_user_describes_the_account_without_any_secret,
    sign_out_user_ends_every_session_and_the_account_stays,
    delete_user_removes_the_account_and_its_sessions,
);

#[tokio::test]
async fn an_unknown_user_or_action_gets_a_clear_error_and_changes_nothing() {
    let app = App::new(Target::Standalone).await;
    let (email, signup) = app.new_user().await;
    let unknown_user = app
        .admin(json!({"action": "disable-user", "email": unique_email()}))
        .await;
    assert_eq!(unknown_user["error"]["type"], "not-found", "{unknown_user}");
    let unknown_id = app.admin(json!({"action": "get-user", "userId": "nobody"})).await;
    assert_eq!(unknown_id["error"]["type"], "not-found");
    for bad in [
        json!({"action": "drop-tables", "email": email}),
        json!({"email": email}),
        json!({"action": "get-user", "email": email, "extra": 1}),
        json!({"action": "get-user", "email": "not an email"}),
        json!("get-user"),
    ] {
        let answer = app.admin(bad.clone()).await;
        assert_eq!(answer["error"]["type"], "validation-failed", "{bad} -> {answer}");
    }
    assert_eq!(
        app.refresh(&signup.refresh_token()).await.status,
        200,
        "nothing changed"
    );
}
