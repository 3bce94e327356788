//! The account lifecycle, part 2 (docs/contract.md, "Accounts: the whole
//! lifecycle"): codes emailed through the local SES (`aws-ses-v2-local`, read back
//! from its `GET /store`) to verify, recover and move an account.

use e2e::*;
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn forgot_mail_reset_ends_every_session_and_the_new_password_signs_in(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let other = app.signin(&email, PASSWORD).await;

    let forgot = app.forgot_password(&email).await;
    assert_eq!((forgot.status, forgot.body.clone()), (202, json!({})), "{forgot:?}");
    let code = last_code_to(&email);
    let mail = mails_to(&email).pop().unwrap();
    assert!(
        mail["body"]["html"].as_str().unwrap().contains(&code),
        "the HTML part has it too"
    );

    assert_eq!(app.reset_password(&email, &code, NEW_PASSWORD).await.status, 204);
    for session in [&signup, &other] {
        app.refresh(&session.refresh_token())
            .await
            .assert_error(401, "invalid-token");
    }
    app.signin(&email, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");
    let signin = app.signin(&email, NEW_PASSWORD).await;
    assert_eq!(signin.status, 200);
    assert_eq!(
        claims_of(&signin.id_token())["email_verified"],
        true,
        "a reset proves the address"
    );
    let notice = mails_to(&email).pop().unwrap();
    assert!(
        code_in(notice["body"]["text"].as_str().unwrap()).is_none(),
        "no code in the notice: {notice}"
    );
}

async fn a_used_code_is_refused(target: Target) {
    let app = App::new(target).await;
    let (email, _) = app.new_user().await;
    app.forgot_password(&email).await;
    let code = last_code_to(&email);
    assert_eq!(app.reset_password(&email, &code, NEW_PASSWORD).await.status, 204);
    app.reset_password(&email, &code, "yet another passphrase")
        .await
        .assert_error(400, "invalid-code");
    assert_eq!(app.signin(&email, NEW_PASSWORD).await.status, 200);
}

async fn five_wrong_codes_burn_the_code(target: Target) {
    let app = App::new(target).await;
    let (email, _) = app.new_user().await;
    app.forgot_password(&email).await;
    let code = last_code_to(&email);
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for _ in 0..5 {
        app.reset_password(&email, wrong, NEW_PASSWORD)
            .await
            .assert_error(400, "invalid-code");
    }
    app.reset_password(&email, &code, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid-code");
    assert_eq!(app.signin(&email, PASSWORD).await.status, 200, "the password stayed");
}

async fn a_new_code_replaces_the_previous_one(target: Target) {
    let app = App::new(target).await;
    let (email, _) = app.new_user().await;
    app.forgot_password(&email).await;
    let first = last_code_to(&email);
    app.forgot_password(&email).await;
    let second = last_code_to(&email);
    if first != second {
        app.reset_password(&email, &first, NEW_PASSWORD)
            .await
            .assert_error(400, "invalid-code");
    }
    assert_eq!(app.reset_password(&email, &second, NEW_PASSWORD).await.status, 204);
}

async fn an_unknown_email_is_indistinguishable_in_forgot_and_reset(target: Target) {
    let app = App::new(target).await;
    let (email, _) = app.new_user().await;
    let unknown = unique_email();
    let (known_answer, unknown_answer) = (app.forgot_password(&email).await, app.forgot_password(&unknown).await);
    assert_eq!(known_answer.status, unknown_answer.status);
    assert_eq!(known_answer.raw_body, unknown_answer.raw_body);
    // The unknown address's owner is told that no account has it; no code.
    let notice = mails_to(&unknown).pop().expect("a mail to the unknown address");
    assert!(code_in(notice["body"]["text"].as_str().unwrap()).is_none());

    let wrong_code = app.reset_password(&email, "12345678", NEW_PASSWORD).await;
    let unknown_email = app.reset_password(&unknown, "12345678", NEW_PASSWORD).await;
    wrong_code.assert_error(400, "invalid-code");
    assert_eq!(wrong_code.body, unknown_email.body);
}

async fn code_requests_are_rate_limited_per_email_whether_or_not_it_exists(target: Target) {
    let app = App::adjusted(target, |s| s.code_limit_per_email = 3).await;
    // The sign-up's verification mail is the known address's first code request.
    let (known, _) = app.new_user().await;
    for (address, allowed) in [(known, 2), (unique_email(), 3)] {
        for _ in 0..allowed {
            assert_eq!(app.forgot_password(&address).await.status, 202);
        }
        let limited = app.forgot_password(&address).await;
        limited.assert_error(429, "too-many-requests");
        assert!(limited.header("retry-after").is_some());
    }
}

async fn verifying_the_email_flips_email_verified_in_later_id_tokens(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    assert_eq!(claims_of(&signup.id_token())["email_verified"], false);
    let code = last_code_to(&email);

    app.verify_email(&signup.id_token(), "00000000x")
        .await
        .assert_error(400, "invalid-code");
    assert_eq!(app.verify_email(&signup.id_token(), &code).await.status, 204);
    let refreshed = app.refresh(&signup.refresh_token()).await;
    assert_eq!(claims_of(&refreshed.id_token())["email_verified"], true);
    let signin = app.signin(&email, PASSWORD).await;
    assert_eq!(claims_of(&signin.id_token())["email_verified"], true);
    // Nothing left to verify: a resend sends nothing, and the used code is refused.
    let before = mails_to(&email).len();
    let resend = app
        .email_call("/email/verify/resend", &signin.id_token(), &json!({}))
        .await;
    assert_eq!(resend.status, 202);
    assert_eq!(mails_to(&email).len(), before);
    app.verify_email(&signin.id_token(), &code)
        .await
        .assert_error(400, "invalid-code");
}

async fn a_resent_verification_code_replaces_the_first(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let first = last_code_to(&email);
    let resend = app
        .email_call("/email/verify/resend", &signup.id_token(), &json!({}))
        .await;
    assert_eq!(resend.status, 202);
    let second = last_code_to(&email);
    if first != second {
        app.verify_email(&signup.id_token(), &first)
            .await
            .assert_error(400, "invalid-code");
    }
    assert_eq!(app.verify_email(&signup.id_token(), &second).await.status, 204);
}

async fn changing_the_email_moves_the_account_and_ends_other_sessions(target: Target) {
    let app = App::new(target).await;
    let (old, caller) = app.new_user().await;
    let other = app.signin(&old, PASSWORD).await;
    let new = unique_email();

    app.change_email(&caller.id_token(), &new, "not the password")
        .await
        .assert_error(401, "invalid-credentials");
    let asked = app.change_email(&caller.id_token(), &new, PASSWORD).await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let code = last_code_to(&new);
    let notice = mails_to(&old).pop().unwrap();
    let notice_text = notice["body"]["text"].as_str().unwrap();
    assert!(notice_text.contains(&new), "the old address is told");
    assert!(!notice_text.contains(&code), "but not the code");

    assert_eq!(app.confirm_email_change(&caller.id_token(), &code).await.status, 204);
    let refreshed = app.refresh(&caller.refresh_token()).await;
    let claims = claims_of(&refreshed.id_token());
    assert_eq!(
        (claims["email"].clone(), claims["email_verified"].clone()),
        (json!(new), json!(true))
    );
    app.refresh(&other.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    app.signin(&old, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");
    assert_eq!(app.signin(&new, PASSWORD).await.status, 200);
    // The old address is free again.
    assert_eq!(app.signup(&old, PASSWORD).await.status, 201);
}

async fn two_users_racing_for_one_new_email_exactly_one_wins(target: Target) {
    let app = App::new(target).await;
    let ((_, first), (_, second)) = (app.new_user().await, app.new_user().await);
    let contested = unique_email();
    assert_eq!(
        app.change_email(&first.id_token(), &contested, PASSWORD).await.status,
        202
    );
    let first_code = last_code_to(&contested);
    assert_eq!(
        app.change_email(&second.id_token(), &contested, PASSWORD).await.status,
        202
    );
    let second_code = last_code_to(&contested);

    let (a, b) = (first.id_token(), second.id_token());
    let (one, two) = tokio::join!(
        app.confirm_email_change(&a, &first_code),
        app.confirm_email_change(&b, &second_code)
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{one:?} {two:?}");
    // Asking for a taken address is 409 at once.
    let (_, third) = app.new_user().await;
    app.change_email(&third.id_token(), &contested, PASSWORD)
        .await
        .assert_error(409, "email-taken");
}

async fn the_email_routes_refuse_an_id_token_whose_session_ended(target: Target) {
    let app = App::new(target).await;
    let (_, signup) = app.new_user().await;
    assert_eq!(app.signout(&signup.refresh_token()).await.status, 204);
    let dead = signup.id_token();
    for (path, body) in [
        ("/email/verify", json!({"code": "12345678"})),
        ("/email/verify/resend", json!({})),
        (
            "/email/change",
            json!({"newEmail": unique_email(), "password": PASSWORD}),
        ),
        ("/email/change/confirm", json!({"code": "12345678"})),
    ] {
        app.email_call(path, &dead, &body)
            .await
            .assert_error(401, "invalid-token");
    }
}

on_both_redis_modes!(
    forgot_mail_reset_ends_every_session_and_the_new_password_signs_in,
    a_used_code_is_refused,
    five_wrong_codes_burn_the_code,
    a_new_code_replaces_the_previous_one,
    an_unknown_email_is_indistinguishable_in_forgot_and_reset,
    code_requests_are_rate_limited_per_email_whether_or_not_it_exists,
    verifying_the_email_flips_email_verified_in_later_id_tokens,
    a_resent_verification_code_replaces_the_first,
    changing_the_email_moves_the_account_and_ends_other_sessions,
    two_users_racing_for_one_new_email_exactly_one_wins,
    the_email_routes_refuse_an_id_token_whose_session_ended,
);

/// SES down: 503 with Retry-After, and the failed request does not count against
/// the address's cooldown (a user whose mail failed can ask again at once).
#[tokio::test]
async fn an_ses_outage_is_503_and_does_not_use_up_the_cooldown() {
    // Two requests per address: the sign-up's verification mail and one more.
    let up = App::adjusted(Target::Standalone, |s| s.code_limit_per_email = 2).await;
    let down_settings = {
        let mut settings = up.settings.clone();
        settings.aws.ses_endpoint = Some(format!("http://127.0.0.1:{}", e2e::process::free_port()));
        settings
    };
    let down = App::with(down_settings).await;
    let (email, _) = up.new_user().await;

    let failed = down.forgot_password(&email).await;
    failed.assert_error(503, "service-unavailable");
    assert_eq!(failed.header("retry-after"), Some("1"));
    assert_eq!(
        up.forgot_password(&email).await.status,
        202,
        "the failed request was given back"
    );
    up.forgot_password(&email).await.assert_error(429, "too-many-requests");
}

#[tokio::test]
async fn deleting_the_account_voids_its_pending_codes() {
    let app = App::new(Target::Standalone).await;
    let (email, signup) = app.new_user().await;
    app.forgot_password(&email).await;
    let code = last_code_to(&email);
    assert_eq!(app.delete_account(&signup.id_token(), PASSWORD).await.status, 204);
    assert_eq!(app.signup(&email, PASSWORD).await.status, 201);
    app.reset_password(&email, &code, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid-code");
}
