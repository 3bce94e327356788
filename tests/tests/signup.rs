//! `POST /signup`, promise by promise (docs/contract.md: Endpoints, Users).

use e2e::*;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

#[tokio::test]
async fn signup_returns_201_with_verifiable_tokens_and_stores_the_user_and_the_session() {
    let app = App::new(Target::Standalone).await;
    let email = unique_email();
    let response = app.signup(&format!("  {}  ", email.to_uppercase()), PASSWORD).await;
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.body.as_object().unwrap().len(), 1);

    // The id token verifies with the public key alone, RS256, with a kid.
    let keys = keys();
    let id_token = response.id_token();
    let header = decode_header(&id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(keys.current_kid.as_str()));
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let id = decode::<Value>(
        &id_token,
        &DecodingKey::from_rsa_pem(keys.current_public_pem.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    for claim in ["iss", "aud", "sub", "sid", "email", "iat", "exp", "jti"] {
        assert!(id.get(claim).is_some(), "id token lacks {claim}");
    }
    assert_eq!(id["email"], json!(email), "the email is normalized");
    assert_eq!(id["exp"].as_u64().unwrap() - id["iat"].as_u64().unwrap(), 900);

    // The refresh token verifies with the HMAC secret.
    let refresh_token = response.refresh_token();
    let header = decode_header(&refresh_token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some(keys.refresh_kid.as_str()));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[format!("{ISSUER}/tokens")]);
    let refresh = decode::<Value>(
        &refresh_token,
        &DecodingKey::from_secret(&keys.refresh_secret),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(refresh["sub"], id["sub"]);
    assert_eq!(refresh["sid"], id["sid"]);
    assert!(refresh["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        refresh["exp"].as_u64().unwrap() - refresh["iat"].as_u64().unwrap(),
        3 * 24 * 3600
    );

    // The user is in DynamoDB with an argon2id hash, and its email guard too.
    let user_id = id["sub"].as_str().unwrap();
    let user = app.dynamodb_item(&format!("USER#{user_id}")).await.expect("user item");
    assert_eq!(user["email"].as_s().unwrap(), &email);
    assert!(user["passwordHash"]
        .as_s()
        .unwrap()
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    let guard = app.dynamodb_item(&format!("EMAIL#{email}")).await.expect("email item");
    assert_eq!(guard["userId"].as_s().unwrap(), user_id);

    // The session is in Redis until its refresh token's `exp`, and Redis drops the
    // user's whitelist by itself then (a TTL within a second of 3 days).
    let session = app
        .sessions()
        .whitelist
        .session(user_id, id["sid"].as_str().unwrap())
        .await
        .unwrap()
        .expect("session");
    assert_eq!(session.expires_at, refresh["exp"].as_u64().unwrap());
    let mut redis = app.redis().await;
    let three_days_ms = 3 * 24 * 3600 * 1000;
    let key = shared::whitelist::sessions_key(user_id);
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut redis).await.unwrap();
    assert!(
        (three_days_ms - 1000..=three_days_ms).contains(&ttl_ms),
        "{key}: TTL {ttl_ms} ms"
    );
}

#[tokio::test]
async fn concurrent_signups_with_one_email_create_exactly_one_user() {
    // Each loser's password is checked against the winner's account (a retried
    // sign-up is recognised by it), a guess that counts like a sign-in: a limit
    // above the 19 guesses keeps every answer here a 409.
    let app = App::adjusted(Target::Standalone, |s| s.signin_limit_per_email = 100).await;
    let email = unique_email();
    let variants: Vec<String> = (0..20)
        .map(|i| match i % 4 {
            0 => email.clone(),
            1 => email.to_uppercase(),
            2 => format!("  {email}\t"),
            _ => format!(" {} ", email.replacen('u', "U", 1)),
        })
        .collect();
    // Each with its own password: only a retry of the winner's own request (same
    // password) may get a 201 too; these are 20 different claimants.
    let passwords: Vec<String> = (0..variants.len()).map(|i| format!("{PASSWORD} {i}")).collect();
    let responses =
        futures_util::future::join_all(variants.iter().zip(&passwords).map(|(e, p)| app.signup(e, p))).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{responses:?}");
    for response in responses.iter().filter(|r| r.status != 201) {
        response.assert_error(409, "email-taken");
    }

    // Exactly one user item and one email item carry this email.
    let scan = app
        .accounts
        .users
        .client()
        .scan()
        .table_name(&app.settings.dynamodb.table)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let items = scan.items();
    let users = items
        .iter()
        .filter(|i| i.get("email").and_then(|v| v.as_s().ok()) == Some(&email))
        .count();
    let guards = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap() == &format!("EMAIL#{email}"))
        .count();
    assert_eq!((users, guards), (1, 1));
}

#[tokio::test]
async fn signing_up_an_existing_email_is_409() {
    let app = App::new(Target::Standalone).await;
    let (email, _) = app.new_user().await;
    app.signup(&email, "another password")
        .await
        .assert_error(409, "email-taken");
}

/// A bad request and what the contract answers: (name, request, status, error type).
fn bad_requests(email: &str) -> Vec<(&'static str, lambda_http::Request, u16, &'static str)> {
    let json = [("content-type", "application/json")];
    let post = |body: &str| request("POST", "/signup", &json, Some(body));
    let valid = json!({"email": email, "password": PASSWORD}).to_string();
    vec![
        ("malformed JSON", post(r#"{"email": "#), 400, "malformed-json"),
        ("not an object", post("[1, 2]"), 400, "validation-failed"),
        (
            "wrong types",
            post(&json!({"email": 42, "password": true}).to_string()),
            400,
            "validation-failed",
        ),
        (
            "missing password",
            post(&json!({"email": email}).to_string()),
            400,
            "validation-failed",
        ),
        ("missing fields", post("{}"), 400, "validation-failed"),
        (
            "unknown field",
            post(&json!({"email": email, "password": PASSWORD, "admin": true}).to_string()),
            400,
            "validation-failed",
        ),
        (
            "empty body",
            request("POST", "/signup", &json, None),
            400,
            "validation-failed",
        ),
        ("null body", post("null"), 400, "validation-failed"),
        (
            "body over 16 KiB",
            post(&json!({"email": email, "password": "x".repeat(17 * 1024)}).to_string()),
            413,
            "payload-too-large",
        ),
        (
            "wrong content type",
            request("POST", "/signup", &[("content-type", "text/plain")], Some(&valid)),
            415,
            "unsupported-media-type",
        ),
        (
            "no content type",
            request("POST", "/signup", &[], Some(&valid)),
            415,
            "unsupported-media-type",
        ),
        (
            "wrong method",
            request("GET", "/signup", &[], None),
            405,
            "method-not-allowed",
        ),
        (
            "invalid email",
            post(&json!({"email": "not-an-email", "password": PASSWORD}).to_string()),
            400,
            "validation-failed",
        ),
        (
            "short password",
            post(&json!({"email": email, "password": "short"}).to_string()),
            400,
            "validation-failed",
        ),
        (
            "overlong password",
            post(&json!({"email": email, "password": "p".repeat(129)}).to_string()),
            400,
            "validation-failed",
        ),
        (
            "non-ASCII email",
            post(&json!({"email": format!("é{email}"), "password": PASSWORD}).to_string()),
            400,
            "validation-failed",
        ),
        (
            "control character in email",
            post(&json!({"email": format!("a\u{7}{email}"), "password": PASSWORD}).to_string()),
            400,
            "validation-failed",
        ),
    ]
}

#[tokio::test]
async fn bad_input_gets_the_spec_error_and_writes_nothing() {
    let app = App::new(Target::Standalone).await;
    let email = unique_email();
    for (name, request, status, kind) in bad_requests(&email) {
        let response = app.call(Function::Signup, request).await;
        assert_eq!(response.status, status, "{name}: {response:?}");
        response.assert_error(status, kind);
        assert!(!response.raw_body.contains(PASSWORD), "{name}: the password is echoed");
    }
    assert!(
        app.dynamodb_item(&format!("EMAIL#{email}")).await.is_none(),
        "a bad request wrote a user"
    );
    let response = app.call(Function::Signup, request("PUT", "/signup", &[], None)).await;
    assert_eq!(response.header("allow"), Some("POST"));
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_malformed_json() {
    // API Gateway base64-encodes such a body; it must be a 400, never a 500.
    let app = App::new(Target::Standalone).await;
    use base64::Engine;
    let mut event = event(
        "POST",
        "/signup",
        &[("content-type", "application/json")],
        None,
        "192.0.2.9",
    );
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(b"\x1d\xfft+\xfe{\x80"));
    event["isBase64Encoded"] = json!(true);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    app.call(Function::Signup, request)
        .await
        .assert_error(400, "malformed-json");
}

#[tokio::test]
async fn validation_errors_name_every_bad_field() {
    let app = App::new(Target::Standalone).await;
    let response = app
        .call(
            Function::Signup,
            json_post(
                "/signup",
                &json!({"email": "nope", "password": "short", "role": "admin"}),
            ),
        )
        .await;
    response.assert_error(400, "validation-failed");
    let fields = response.body["error"]["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 3, "{fields:?}");
    for field in ["email", "password", "role"] {
        assert!(fields.contains_key(field));
    }
    assert!(
        !response.raw_body.contains("short"),
        "validation errors never echo the password"
    );
}

/// Each sign-up costs an argon2 hash and a DynamoDB write: an address gets
/// `SIGNUP_LIMIT_PER_IP` of them per window, then 429 with Retry-After, and nothing
/// is written; other addresses are unaffected.
#[tokio::test]
async fn sign_ups_are_rate_limited_per_source_address() {
    let app = App::adjusted(Target::Standalone, |s| s.signup_limit_per_ip = 2).await;
    let address = format!("192.0.2.{}", uuid::Uuid::new_v4().as_bytes()[0] % 250 + 1);
    let signup_from = |email: String, ip: String| {
        let body = json!({"email": email, "password": PASSWORD}).to_string();
        let request = request_from(
            "POST",
            "/signup",
            &[("content-type", "application/json")],
            Some(&body),
            &ip,
        );
        app.call(Function::Signup, request)
    };
    for _ in 0..2 {
        assert_eq!(signup_from(unique_email(), address.clone()).await.status, 201);
    }
    let refused_email = unique_email();
    let limited = signup_from(refused_email.clone(), address.clone()).await;
    limited.assert_error(429, "too-many-requests");
    assert!(limited.header("retry-after").is_some());
    assert!(
        app.dynamodb_item(&format!("EMAIL#{refused_email}")).await.is_none(),
        "nothing written"
    );
    assert_eq!(signup_from(refused_email, "198.18.0.9".into()).await.status, 201);
}
