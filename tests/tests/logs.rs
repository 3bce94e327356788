//! Logs are JSON lines fit for CloudWatch Logs Insights, carry the request id, and
//! never hold a password, a hash, a token or a secret. A panic in a handler becomes
//! the contract's 500 and a logged request id, never a crashed runtime.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use e2e::*;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::ApiError;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test process, in the production format.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        shared::runtime::init_logging_to(move || writer.clone());
        captured
    })
}

fn log_lines() -> Vec<Value> {
    let bytes = captured().0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("a log line that is not JSON: {line}")))
        .collect()
}

#[tokio::test]
async fn no_password_hash_token_or_secret_ever_reaches_a_log_line_or_an_error_body() {
    let logs = captured();
    let app = App::new(Target::Standalone).await;
    let email = unique_email();
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());

    // The whole flow, failures included.
    let signup = app.signup(&email, &password).await;
    assert_eq!(signup.status, 201);
    let signin = app.signin(&email, &password).await;
    let wrong = app.signin(&email, &format!("{password}-wrong")).await;
    let short = app
        .call(
            Function::Signup,
            json_post("/signup", &json!({"email": unique_email(), "password": "pw-shor"})),
        )
        .await;
    let refreshed = app.refresh(&signin.refresh_token()).await;
    let graced = app.refresh(&signin.refresh_token()).await;
    let listed = app.list_sessions(&refreshed.id_token()).await;
    let signed_out = app.signout(&refreshed.refresh_token()).await;
    let dead = app.refresh(&refreshed.refresh_token()).await;
    let revoked = app.revoke_all(&signup.id_token()).await;
    // Bodies that carry no tokens by design must carry no secret at all.
    let tokenless_bodies = [&wrong, &short, &listed, &signed_out, &dead, &revoked];
    assert_eq!((wrong.status, dead.status, revoked.status), (401, 401, 204));

    let user_id = claims_of(&signup.id_token())["sub"].as_str().unwrap().to_string();
    let user = app
        .dynamodb_item(&format!("USER#{user_id}"))
        .await
        .expect("the user item");
    let hash = user["passwordHash"].as_s().unwrap().clone();
    let secret_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&keys().refresh_secret)
    };
    let pem_body: String = keys().current_private_pem.lines().nth(1).unwrap().to_string();

    let mut secrets = vec![
        ("password", password.clone()),
        ("hash", hash.clone()),
        ("refresh secret", secret_b64),
        ("private key", pem_body),
    ];
    for response in [&signup, &signin, &refreshed, &graced] {
        secrets.push(("refresh token", response.refresh_token()));
        secrets.push(("id token", response.id_token()));
        // Signatures alone would be enough to matter.
        secrets.push((
            "token signature",
            response.refresh_token().rsplit('.').next().unwrap().to_string(),
        ));
    }
    let all_logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(all_logs.contains(&user_id), "the flow was logged (with the user id)");
    for (what, secret) in &secrets {
        assert!(!all_logs.contains(secret.as_str()), "a {what} reached the logs");
        for body in tokenless_bodies.iter().map(|r| &r.raw_body) {
            assert!(
                !body.contains(secret.as_str()),
                "a {what} reached a response body: {body}"
            );
        }
    }
    assert!(
        !short.raw_body.contains("pw-shor"),
        "validation errors never echo the password"
    );

    // Security events are logged with the user id.
    let lines = log_lines();
    let revoke = lines
        .iter()
        .find(|l| l["security_event"] == "revoke_all" && l["user_id"] == user_id.as_str());
    assert!(revoke.is_some(), "revoke-all is logged as a security event");
}

#[tokio::test]
async fn a_panicking_handler_answers_500_in_the_spec_shape_and_logs_the_request_id() {
    captured();
    async fn panics(_: &(), _: Request) -> Result<Response<Body>, ApiError> {
        panic!("a bug");
    }
    let mut event = event("POST", "/anything", &[], None, "192.0.2.1");
    let request_id = "panic-test-request-id";
    event["requestContext"]["requestId"] = json!(request_id);
    let mut request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let mut context = lambda_runtime::Context::default();
    context.request_id = request_id.into();
    request.extensions_mut().insert(context);

    let response = shared::runtime::respond(&(), request, panics).await;
    assert_eq!(response.status(), 500);
    let body: Value = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    assert_eq!(
        body,
        json!({"error": {"type": "internal-error", "message": "An internal error occurred."}})
    );
    let logged = log_lines()
        .into_iter()
        .any(|l| l["cause"] == "handler panicked" && l["request_id"] == request_id && l["status"] == 500);
    assert!(logged, "the panic is logged with the request id");
}
