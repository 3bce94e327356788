//! The `events/` fixtures (for `sam local invoke -e` and `cargo lambda invoke
//! --data-file`) parse as API Gateway events and run through their handlers with
//! the outcome their name promises, so they never rot. `<refreshToken>` and
//! `<idToken>` placeholders are replaced with live tokens first.

use std::path::PathBuf;

use e2e::*;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn fixture(name: &str, tokens: Option<&TestResponse>) -> String {
    let raw = std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    match tokens {
        Some(t) => raw
            .replace("<refreshToken>", &t.refresh_token())
            .replace("<idToken>", &t.id_token())
            .replace("<sessionId>", claims_of(&t.id_token())["sid"].as_str().unwrap()),
        None => raw,
    }
}

/// (fixture, function, expected status); authorizer fixtures are checked below.
const HTTP_FIXTURES: &[(&str, Function, u16)] = &[
    ("signup.json", Function::Signup, 201),
    ("signup-bad-input.json", Function::Signup, 400),
    ("signin.json", Function::Signin, 200),
    ("signin-wrong-password.json", Function::Signin, 401),
    ("refresh.json", Function::Refresh, 200),
    ("refresh-invalid-token.json", Function::Refresh, 401),
    ("sessions.json", Function::Sessions, 200),
    ("sessions-invalid-token.json", Function::Sessions, 401),
    ("signout.json", Function::Signout, 204),
    ("signout-invalid-token.json", Function::Signout, 401),
    ("revoke-all.json", Function::RevokeAll, 204),
    ("revoke-all-missing-token.json", Function::RevokeAll, 401),
    ("jwks.json", Function::Jwks, 200),
    ("openid-configuration.json", Function::Jwks, 200),
    ("jwks-wrong-method.json", Function::Jwks, 405),
    ("sessions-delete.json", Function::Sessions, 204),
    ("sessions-delete-unknown.json", Function::Sessions, 404),
    ("account-change-password-wrong-current.json", Function::Account, 401),
    ("password-forgot.json", Function::Recovery, 202),
    ("password-forgot-bad-input.json", Function::Recovery, 400),
    ("password-reset-invalid-code.json", Function::Recovery, 400),
    ("email-verify-invalid-code.json", Function::Email, 400),
    ("email-verify-resend.json", Function::Email, 202),
    // A request only: the code is never redeemed, so the fixture user keeps its email.
    ("email-change.json", Function::Email, 202),
    ("email-change-confirm-invalid-code.json", Function::Email, 400),
    // Before the enrollment: the fixture user has nothing enrolled yet (400 validation-failed).
    ("mfa-confirm-nothing-enrolled.json", Function::Mfa, 400),
    // Leaves a pending (never confirmed) secret: sign-in still needs no second factor.
    ("mfa-enroll.json", Function::Mfa, 200),
    ("signin-mfa-invalid-token.json", Function::Signin, 401),
];
/// Fixtures that change the fixture user's account, run last and in this order:
/// deletion frees the email (sign-up succeeds again), then the password changes.
const ACCOUNT_FIXTURES: &[(&str, Function, u16)] = &[
    ("account-delete.json", Function::Account, 204),
    ("signup.json", Function::Signup, 201),
    ("account-change-password.json", Function::Account, 204),
];
const AUTHORIZER_FIXTURES: &[(&str, bool)] = &[("authorizer.json", true), ("authorizer-invalid-token.json", false)];
/// (fixture, error type or `None` for success), run in this order on the fixture user.
const ADMIN_FIXTURES: &[(&str, Option<&str>)] = &[
    ("admin-get-user.json", None),
    ("admin-disable-user.json", None),
    ("admin-enable-user.json", None),
    ("admin-sign-out-user.json", None),
    ("admin-unknown-user.json", Some("not-found")),
    ("admin-unknown-action.json", Some("validation-failed")),
    ("admin-delete-user.json", None),
];

#[tokio::test]
async fn every_event_fixture_runs_through_its_handler_with_the_promised_outcome() {
    // A table of its own: the fixtures use a fixed email. They also ask for codes for it
    // (sign-ups, forgot, resend), which Redis counts per email for an hour, across runs:
    // a budget that runs in a row do not exhaust.
    let mut settings = e2e::settings(Target::Standalone);
    settings.dynamodb.table = format!("events-{}", uuid::Uuid::new_v4().simple());
    settings.code_limit_per_email = 10_000;
    create_table(&env("TEST_DYNAMODB_ENDPOINT"), &settings.dynamodb.table).await;
    let app = App::with(settings).await;

    run_http_fixtures(&app, HTTP_FIXTURES).await;

    // revoke-all.json ended every session of the fixture user: open a fresh one.
    let live = app
        .call(
            Function::Signin,
            lambda_http::request::from_str(&fixture("signin.json", None)).unwrap(),
        )
        .await;
    for (name, allowed) in AUTHORIZER_FIXTURES {
        let event = serde_json::from_str(&fixture(name, Some(&live))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let response = shared::api::authorizer::handle(app.sessions(), event).await;
        assert_eq!(response.is_authorized, *allowed, "{name}");
    }

    run_http_fixtures(&app, ACCOUNT_FIXTURES).await;
    let old_password = lambda_http::request::from_str(&fixture("signin.json", None)).unwrap();
    assert_eq!(
        app.call(Function::Signin, old_password).await.status,
        401,
        "the password changed"
    );

    for (name, error) in ADMIN_FIXTURES {
        let event = serde_json::from_str(&fixture(name, None)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let answer = app.admin(event).await;
        assert_eq!(answer["error"]["type"].as_str(), *error, "{name}: {answer}");
    }
}

/// Runs each fixture through its function; token-bearing ones get a fresh sign-in
/// of the fixture user (sign-out and revoke-all end theirs).
async fn run_http_fixtures(app: &App, fixtures: &[(&str, Function, u16)]) {
    for (name, function, status) in fixtures {
        let tokens = if fixture(name, None).contains("<") {
            let signin = app
                .call(
                    Function::Signin,
                    lambda_http::request::from_str(&fixture("signin.json", None)).unwrap(),
                )
                .await;
            assert_eq!(signin.status, 200, "{signin:?}");
            Some(signin)
        } else {
            None
        };
        let request =
            lambda_http::request::from_str(&fixture(name, tokens.as_ref())).unwrap_or_else(|e| panic!("{name}: {e}"));
        let response = app.call(*function, request).await;
        assert_eq!(response.status, *status, "{name}: {response:?}");
        if response.status >= 400 {
            assert!(response.body["error"]["type"].is_string(), "{name}");
        }
    }
}

#[test]
fn every_file_in_events_is_a_tested_fixture() {
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = HTTP_FIXTURES
        .iter()
        .map(|f| f.0.to_string())
        .chain(
            ACCOUNT_FIXTURES
                .iter()
                .filter(|f| f.0 != "signup.json")
                .map(|f| f.0.to_string()),
        )
        .chain(AUTHORIZER_FIXTURES.iter().map(|f| f.0.to_string()))
        .chain(ADMIN_FIXTURES.iter().map(|f| f.0.to_string()))
        .collect();
    tested.sort();
    assert_eq!(on_disk, tested);
}
