//! Multi-factor sign-in (docs/contract.md, "Multi-factor sign-in (TOTP, RFC 6238)"),
//! with codes computed by PyOTP from the otpauth:// URI the service returned.

use e2e::*;
use serde_json::{json, Value};

/// A signed-up user with MFA confirmed: (email, the confirming session, otpauth URI,
/// recovery codes). The confirmation used the current step's code.
async fn user_with_mfa(app: &App) -> (String, TestResponse, String, Vec<String>) {
    let (email, signup) = app.new_user().await;
    let enrolled = app.mfa_call("enroll", &signup.id_token(), &json!({})).await;
    assert_eq!(enrolled.status, 200, "{enrolled:?}");
    let uri = enrolled.body["otpauthUri"].as_str().unwrap().to_string();
    let confirmed = app
        .mfa_call("confirm", &signup.id_token(), &json!({"code": pyotp_code(&uri, 0)}))
        .await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let codes = confirmed.body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (email, signup, uri, codes)
}

/// `POST /signin` with MFA on: no tokens, an mfaToken.
async fn mfa_token(app: &App, email: &str) -> String {
    let signin = app.signin(email, PASSWORD).await;
    assert_eq!(signin.status, 200, "{signin:?}");
    assert_eq!(signin.body["mfaRequired"], true);
    assert!(
        signin.body.get("tokens").is_none(),
        "no session before the second factor: {signin:?}"
    );
    signin.body["mfaToken"].as_str().unwrap().to_string()
}

fn amr(response: &TestResponse) -> Value {
    claims_of(&response.id_token())["amr"].clone()
}

async fn a_sign_in_with_a_pyotp_code_from_the_otpauth_uri_says_pwd_and_otp(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let other = app.signin(&email, PASSWORD).await;
    let enrolled = app.mfa_call("enroll", &signup.id_token(), &json!({})).await;
    let uri = enrolled.body["otpauthUri"].as_str().unwrap().to_string();
    let secret = enrolled.body["secret"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    assert_eq!(amr(&signup), json!(["pwd"]));
    // Not active until confirmed.
    assert!(app.signin(&email, PASSWORD).await.body.get("tokens").is_some());

    app.mfa_call("confirm", &signup.id_token(), &json!({"code": "000000x"}))
        .await
        .assert_error(401, "invalid-mfa-code");
    let confirmed = app
        .mfa_call("confirm", &signup.id_token(), &json!({"code": pyotp_code(&uri, 0)}))
        .await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    assert_eq!(confirmed.body["recoveryCodes"].as_array().unwrap().len(), 10);
    app.refresh(&other.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    assert_eq!(
        app.refresh(&signup.refresh_token()).await.status,
        200,
        "the confirming session stays"
    );

    // The code of the next step (one step of skew) is accepted once.
    let code = pyotp_code(&uri, 1);
    let signed_in = app.signin_mfa(&mfa_token(&app, &email).await, &code).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    assert_eq!(amr(&signed_in), json!(["pwd", "otp"]));
    let refreshed = app.refresh(&signed_in.refresh_token()).await;
    assert_eq!(
        amr(&refreshed),
        json!(["pwd", "otp"]),
        "a refresh keeps how the session began"
    );
    app.signin_mfa(&mfa_token(&app, &email).await, &code)
        .await
        .assert_error(401, "invalid-mfa-code");
}

async fn a_recovery_code_works_once(target: Target) {
    let app = App::new(target).await;
    let (email, _, _, codes) = user_with_mfa(&app).await;
    let signed_in = app
        .signin_mfa(&mfa_token(&app, &email).await, &codes[3].to_lowercase())
        .await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    assert_eq!(amr(&signed_in), json!(["pwd", "otp"]));
    app.signin_mfa(&mfa_token(&app, &email).await, &codes[3])
        .await
        .assert_error(401, "invalid-mfa-code");
    assert_eq!(
        app.signin_mfa(&mfa_token(&app, &email).await, &codes[4]).await.status,
        200
    );
}

async fn an_mfa_token_is_single_use_and_burns_after_five_wrong_codes(target: Target) {
    let app = App::new(target).await;
    let (email, _, _, codes) = user_with_mfa(&app).await;
    let token = mfa_token(&app, &email).await;
    for _ in 0..5 {
        app.signin_mfa(&token, "AAAAA-AAAAA")
            .await
            .assert_error(401, "invalid-mfa-code");
    }
    app.signin_mfa(&token, &codes[0])
        .await
        .assert_error(401, "invalid-token");

    let token = mfa_token(&app, &email).await;
    assert_eq!(app.signin_mfa(&token, &codes[1]).await.status, 200);
    app.signin_mfa(&token, &codes[2])
        .await
        .assert_error(401, "invalid-token");
    app.signin_mfa("not-a-token", &codes[2])
        .await
        .assert_error(401, "invalid-token");
}

async fn an_mfa_token_lives_five_minutes(target: Target) {
    let app = App::new(target).await;
    let (email, _, _, _) = user_with_mfa(&app).await;
    let token = mfa_token(&app, &email).await;
    let mut redis = app.redis().await;
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(format!("mfa:{{{token}}}"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((290_000..=300_000).contains(&ttl_ms), "{ttl_ms}");
}

async fn second_factor_failures_count_against_the_sign_in_limits(target: Target) {
    let app = App::adjusted(target, |s| s.signin_limit_per_email = 3).await;
    let (email, _, _, codes) = user_with_mfa(&app).await;
    let token = mfa_token(&app, &email).await; // the password: attempt 1
    for _ in 0..2 {
        app.signin_mfa(&token, "AAAAA-AAAAA")
            .await
            .assert_error(401, "invalid-mfa-code");
    }
    app.signin_mfa(&token, &codes[0])
        .await
        .assert_error(429, "too-many-requests");
}

async fn disabling_needs_the_password_and_a_current_code_and_ends_other_sessions(target: Target) {
    let app = App::new(target).await;
    let (email, caller, uri, codes) = user_with_mfa(&app).await;
    let other = app.signin_mfa(&mfa_token(&app, &email).await, &codes[0]).await;
    let code = pyotp_code(&uri, 1);
    app.mfa_call(
        "disable",
        &caller.id_token(),
        &json!({"password": "wrong password!", "code": code}),
    )
    .await
    .assert_error(401, "invalid-credentials");
    app.mfa_call(
        "disable",
        &caller.id_token(),
        &json!({"password": PASSWORD, "code": "AAAAA-AAAAA"}),
    )
    .await
    .assert_error(401, "invalid-mfa-code");
    let disabled = app
        .mfa_call(
            "disable",
            &caller.id_token(),
            &json!({"password": PASSWORD, "code": code}),
        )
        .await;
    assert_eq!(disabled.status, 204, "{disabled:?}");
    app.refresh(&other.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    let signin = app.signin(&email, PASSWORD).await;
    assert_eq!(amr(&signin), json!(["pwd"]), "tokens at once: {signin:?}");
}

async fn the_secret_is_encrypted_at_rest_and_never_returned_again(target: Target) {
    let app = App::new(target).await;
    let (_, signup) = app.new_user().await;
    let enrolled = app.mfa_call("enroll", &signup.id_token(), &json!({})).await;
    let secret = enrolled.body["secret"].as_str().unwrap().to_string();
    let user_id = claims_of(&signup.id_token())["sub"].as_str().unwrap().to_string();
    let item = app.dynamodb_item(&format!("USER#{user_id}")).await.unwrap();
    let stored = format!("{item:?}");
    assert!(!stored.contains(&secret), "the base32 secret is not stored");
    assert!(item.contains_key("mfaPending") && item.contains_key("mfaPendingKid"));
    let code = pyotp_code(enrolled.body["otpauthUri"].as_str().unwrap(), 0);
    let confirmed = app
        .mfa_call("confirm", &signup.id_token(), &json!({"code": code}))
        .await;
    assert!(!confirmed.raw_body.contains(&secret));
    // Enrolling again while on is refused; the secret is never shown again.
    let again = app.mfa_call("enroll", &signup.id_token(), &json!({})).await;
    again.assert_error(409, "mfa-already-enabled");
}

async fn a_recovery_code_turns_mfa_off_when_the_authenticator_is_lost(target: Target) {
    let app = App::new(target).await;
    let (email, caller, _, codes) = user_with_mfa(&app).await;
    let disabled = app
        .mfa_call(
            "disable",
            &caller.id_token(),
            &json!({"password": PASSWORD, "code": codes[7]}),
        )
        .await;
    assert_eq!(disabled.status, 204, "{disabled:?}");
    assert_eq!(amr(&app.signin(&email, PASSWORD).await), json!(["pwd"]));
}

async fn changing_the_email_keeps_mfa_on(target: Target) {
    let app = App::new(target).await;
    let (_, caller, _, _) = user_with_mfa(&app).await;
    let new = unique_email();
    let asked = app.change_email(&caller.id_token(), &new, PASSWORD).await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let confirmed = app.confirm_email_change(&caller.id_token(), &last_code_to(&new)).await;
    assert_eq!(confirmed.status, 204, "{confirmed:?}");
    mfa_token(&app, &new).await;
    let answer = app.admin(json!({"action": "get-user", "email": new})).await;
    assert_eq!(answer["user"]["mfaEnabled"], true, "{answer}");
    assert_eq!(answer["user"]["emailVerified"], true, "{answer}");
}

on_both_redis_modes!(
    a_recovery_code_turns_mfa_off_when_the_authenticator_is_lost,
    changing_the_email_keeps_mfa_on,
    a_sign_in_with_a_pyotp_code_from_the_otpauth_uri_says_pwd_and_otp,
    a_recovery_code_works_once,
    an_mfa_token_is_single_use_and_burns_after_five_wrong_codes,
    an_mfa_token_lives_five_minutes,
    second_factor_failures_count_against_the_sign_in_limits,
    disabling_needs_the_password_and_a_current_code_and_ends_other_sessions,
    the_secret_is_encrypted_at_rest_and_never_returned_again,
);
