//! Test harness: the real handlers against the real services `make test` starts
//! (TEST_* variables), plus servers a test starts and stops itself for fault tests.
//!
//! Every test builds its own clients (so nothing outlives its tokio runtime) and
//! uses its own users (fresh emails), so tests run in parallel without sharing state.

pub mod process;

use std::sync::OnceLock;
use std::time::Duration;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::api;
use shared::config::{DynamoDbSettings, RedisSettings, Settings};
use shared::context::{AccountContext, SessionContext};
use tokio::sync::OnceCell;

/// A variable `make test` sets; without it the test cannot mean anything, so it fails.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with `make test`"))
}

/// Which Redis the whitelist runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Standalone,
    Cluster,
}

/// PEM keys made once per test process with openssl.
pub struct TestKeys {
    pub current_kid: String,
    pub current_private_pem: String,
    pub current_public_pem: String,
    pub previous_kid: String,
    pub previous_private_pem: String,
    pub refresh_kid: String,
    pub refresh_secret: Vec<u8>,
}

fn openssl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "openssl {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

pub fn rsa_private_pem() -> String {
    openssl(
        &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        None,
    )
}

pub fn public_pem_of(private_pem: &str) -> String {
    openssl(&["pkey", "-pubout"], Some(private_pem))
}

pub fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let current_private_pem = rsa_private_pem();
        let current_public_pem = public_pem_of(&current_private_pem);
        TestKeys {
            current_kid: "test-id-current".into(),
            current_private_pem,
            current_public_pem,
            previous_kid: "test-id-previous".into(),
            previous_private_pem: rsa_private_pem(),
            refresh_kid: "test-rt-1".into(),
            refresh_secret: uuid::Uuid::new_v4()
                .as_bytes()
                .iter()
                .chain(uuid::Uuid::new_v4().as_bytes())
                .copied()
                .collect(),
        }
    })
}

/// The key document: the current key signs, the previous one (public only) still verifies.
pub fn keys_json() -> String {
    use base64::Engine;
    let k = keys();
    json!({
        "idTokenKeys": [
            {"kid": k.current_kid, "alg": "RS256", "privateKeyPem": k.current_private_pem},
            {"kid": k.previous_kid, "alg": "RS256", "publicKeyPem": public_pem_of(&k.previous_private_pem)},
        ],
        "refreshSecrets": [{"kid": k.refresh_kid, "secret": base64::engine::general_purpose::STANDARD.encode(&k.refresh_secret)}],
    })
    .to_string()
}

pub const ISSUER: &str = "https://auth.test.example";
pub const AUDIENCE: &str = "test-audience";

/// The region and credentials `make test` exports (DynamoDB Local accepts any).
fn aws_lookup(name: &str) -> Option<String> {
    shared::config::environment(name).or_else(|| {
        let fallback = match name {
            "AWS_REGION" => "us-east-1",
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => "local",
            _ => return None,
        };
        Some(fallback.to_string())
    })
}

pub fn aws_settings() -> shared::config::AwsSettings {
    shared::config::AwsSettings::from_lookup(&aws_lookup)
}

/// A standalone Redis at this URL, with the production timeouts.
pub fn redis_at(url: &str) -> RedisSettings {
    RedisSettings {
        url: url.into(),
        cluster: false,
        cluster_seeds: vec![],
        ca_cert_file: None,
        connect_timeout: Duration::from_millis(500),
        response_timeout: Duration::from_millis(500),
    }
}

pub fn redis_settings(target: Target) -> RedisSettings {
    match target {
        Target::Standalone => redis_at(&env("TEST_REDIS_URL")),
        Target::Cluster => RedisSettings {
            cluster: true,
            cluster_seeds: env("TEST_REDIS_CLUSTER_NODES").split(',').map(str::to_string).collect(),
            ..redis_at(&env("TEST_REDIS_CLUSTER_URL"))
        },
    }
}

/// Settings as production reads them (the defaults of config.rs: the same function
/// reads them, from a lookup that knows only what identifies this deployment), on
/// these services. Tests then change fields, never the process environment.
pub fn settings_on(redis: RedisSettings, dynamodb_endpoint: Option<String>, keys_json: String) -> Settings {
    let lookup = |name: &str| match name {
        "ISSUER" => Some(ISSUER.to_string()),
        "ID_TOKEN_AUDIENCE" => Some(AUDIENCE.to_string()),
        "REDIS_URL" => Some(redis.url.clone()),
        // One test process signs in many users from one address.
        "SIGNIN_LIMIT_PER_IP" | "SIGNUP_LIMIT_PER_IP" | "CODE_LIMIT_PER_IP" => Some("100000".to_string()),
        "AWS_ENDPOINT_URL_SESV2" => std::env::var("TEST_SES_ENDPOINT").ok(),
        "MAIL_FROM" => Some("no-reply@account-service.test".to_string()),
        _ => aws_lookup(name),
    };
    let mut settings = Settings::from_lookup(&lookup, keys_json).expect("valid test settings");
    settings.redis = redis;
    settings.dynamodb.endpoint = dynamodb_endpoint;
    settings
}

/// Settings as production reads them, pointed at the test services.
pub fn settings(target: Target) -> Settings {
    settings_on(redis_settings(target), Some(env("TEST_DYNAMODB_ENDPOINT")), keys_json())
}

/// Creates the users table on a DynamoDB endpoint (as template.yaml declares it).
pub async fn create_table(endpoint: &str, table: &str) {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let store = shared::users::UserStore::new(
        &DynamoDbSettings {
            table: table.into(),
            endpoint: Some(endpoint.into()),
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(10),
        },
        &aws_settings(),
    )
    .expect("AWS settings from the environment");
    store
        .client()
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the users table");
}

/// One users table per test process, on the shared DynamoDB Local.
pub async fn shared_table() -> String {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    TABLE
        .get_or_init(|| async {
            let table = format!("accounts-{}", uuid::Uuid::new_v4().simple());
            create_table(&env("TEST_DYNAMODB_ENDPOINT"), &table).await;
            table
        })
        .await
        .clone()
}

/// The service as the functions wire it, in process.
pub struct App {
    pub accounts: &'static AccountContext,
    pub keys: &'static shared::context::KeyContext,
    pub settings: Settings,
}

/// A response, with the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
    pub raw_body: String,
}

impl TestResponse {
    fn from(response: Response<Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw_body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        let body = if raw_body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw_body).expect("response bodies are JSON")
        };
        TestResponse {
            status,
            headers,
            body,
            raw_body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn id_token(&self) -> String {
        self.body["tokens"]["idToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no idToken in {self:?}"))
            .to_string()
    }

    pub fn refresh_token(&self) -> String {
        self.body["tokens"]["refreshToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no refreshToken in {self:?}"))
            .to_string()
    }

    pub fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("")
    }

    /// The the contract's error shape: `{"error": {"type", "message"}}` (+ `fields`) and nothing else.
    pub fn assert_error(&self, status: u16, kind: &str) {
        assert_eq!(self.status, status, "unexpected status for {self:?}");
        assert_eq!(self.error_type(), kind, "unexpected error type in {self:?}");
        let error = self.body["error"].as_object().expect("error object");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            error
                .keys()
                .all(|k| ["type", "message", "fields"].contains(&k.as_str())),
            "{error:?}"
        );
        assert_eq!(self.body.as_object().unwrap().len(), 1);
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// An API Gateway HTTP API (payload 2.0) event, as `sam local invoke -e` feeds it.
pub fn event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>, source_ip: &str) -> Value {
    let mut header_map = serde_json::Map::new();
    for (name, value) in headers {
        header_map.insert(name.to_lowercase(), json!(value));
    }
    let user_agent = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| *v)
        .unwrap_or("");
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": user_agent},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "24/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795521600000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Request {
    request_from(method, path, headers, body, "198.51.100.7")
}

pub fn request_from(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    source_ip: &str,
) -> Request {
    lambda_http::request::from_str(&event(method, path, headers, body, source_ip).to_string()).expect("a valid event")
}

pub fn json_post(path: &str, body: &Value) -> Request {
    request(
        "POST",
        path,
        &[("content-type", "application/json"), ("user-agent", "e2e-tests/1.0")],
        Some(&body.to_string()),
    )
}

pub fn bearer(method: &str, path: &str, token: &str) -> Request {
    request(
        method,
        path,
        &[
            ("authorization", &format!("Bearer {token}")),
            ("user-agent", "e2e-tests/1.0"),
        ],
        None,
    )
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Which endpoint a request goes to, by the function that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Signup,
    Signin,
    Account,
    Recovery,
    Email,
    Mfa,
    Refresh,
    Signout,
    RevokeAll,
    Sessions,
    Jwks,
    Me,
}

impl App {
    pub async fn new(target: Target) -> App {
        App::adjusted(target, |_| {}).await
    }

    /// The test services' settings with some changed (a short grace window, a Redis
    /// of the test's own...), on the shared users table.
    pub async fn adjusted(target: Target, adjust: impl FnOnce(&mut Settings)) -> App {
        let mut settings = settings(target);
        settings.dynamodb.table = shared_table().await;
        adjust(&mut settings);
        App::with(settings).await
    }

    /// An app whose users table lives on a DynamoDB Local of the test's own (for
    /// outages made by pausing it).
    pub async fn on_own_dynamodb(dynamodb: &process::ServerProcess) -> App {
        let table = "accounts";
        create_table(&dynamodb.http_url(), table).await;
        let mut settings = settings(Target::Standalone);
        settings.dynamodb.endpoint = Some(dynamodb.http_url());
        settings.dynamodb.table = table.into();
        App::with(settings).await
    }

    pub async fn with(settings: Settings) -> App {
        let accounts = AccountContext::new(settings.clone())
            .await
            .expect("valid test settings");
        let keys = shared::context::KeyContext::new(&settings).unwrap();
        App {
            accounts: Box::leak(Box::new(accounts)),
            keys: Box::leak(Box::new(keys)),
            settings,
        }
    }

    pub fn sessions(&self) -> &'static SessionContext {
        &self.accounts.sessions
    }

    /// Runs a request through the function's handler exactly as its `main` does.
    pub async fn call(&self, function: Function, request: Request) -> TestResponse {
        use shared::runtime::respond;
        let sessions = self.sessions();
        let response = match function {
            Function::Signup => respond(self.accounts, request, api::signup::handle).await,
            Function::Signin => respond(self.accounts, request, api::signin::handle).await,
            Function::Account => respond(self.accounts, request, api::account::handle).await,
            Function::Recovery => respond(self.accounts, request, api::recovery::handle).await,
            Function::Email => respond(self.accounts, request, api::email::handle).await,
            Function::Mfa => respond(self.accounts, request, api::mfa::handle).await,
            Function::Refresh => respond(sessions, request, api::refresh::handle).await,
            Function::Signout => respond(sessions, request, api::signout::handle).await,
            Function::RevokeAll => respond(sessions, request, api::revoke_all::handle).await,
            Function::Sessions => respond(sessions, request, api::sessions::handle).await,
            Function::Jwks => respond(self.keys, request, api::jwks::handle).await,
            Function::Me => respond(self.keys, request, api::me::handle).await,
        };
        TestResponse::from(response)
    }

    pub async fn signup(&self, email: &str, password: &str) -> TestResponse {
        self.call(
            Function::Signup,
            json_post("/signup", &json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn signin(&self, email: &str, password: &str) -> TestResponse {
        self.call(
            Function::Signin,
            json_post("/signin", &json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn signin_from(&self, email: &str, password: &str, ip: &str) -> TestResponse {
        let body = json!({"email": email, "password": password}).to_string();
        let request = request_from(
            "POST",
            "/signin",
            &[("content-type", "application/json")],
            Some(&body),
            ip,
        );
        self.call(Function::Signin, request).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.call(
            Function::Refresh,
            json_post("/tokens", &json!({"refreshToken": refresh_token})),
        )
        .await
    }

    /// `POST /tokens` from this source address.
    pub async fn refresh_from(&self, refresh_token: &str, ip: &str) -> TestResponse {
        let body = json!({"refreshToken": refresh_token}).to_string();
        let request = request_from(
            "POST",
            "/tokens",
            &[("content-type", "application/json")],
            Some(&body),
            ip,
        );
        self.call(Function::Refresh, request).await
    }

    pub async fn signout(&self, refresh_token: &str) -> TestResponse {
        self.call(
            Function::Signout,
            json_post("/signout", &json!({"refreshToken": refresh_token})),
        )
        .await
    }

    pub async fn revoke_all(&self, id_token: &str) -> TestResponse {
        self.call(Function::RevokeAll, bearer("POST", "/revoke-all", id_token))
            .await
    }

    /// A request with a bearer id token and a JSON body.
    pub fn bearer_json(method: &str, path: &str, id_token: &str, body: &Value) -> Request {
        let authorization = format!("Bearer {id_token}");
        let headers = [
            ("authorization", authorization.as_str()),
            ("content-type", "application/json"),
        ];
        request(method, path, &headers, Some(&body.to_string()))
    }

    pub async fn change_password(&self, id_token: &str, current: &str, new: &str) -> TestResponse {
        let body = json!({"currentPassword": current, "newPassword": new});
        let request = Self::bearer_json("POST", "/password/change", id_token, &body);
        self.call(Function::Account, request).await
    }

    pub async fn delete_account(&self, id_token: &str, password: &str) -> TestResponse {
        let request = Self::bearer_json("DELETE", "/account", id_token, &json!({"password": password}));
        self.call(Function::Account, request).await
    }

    pub async fn forgot_password(&self, email: &str) -> TestResponse {
        self.call(
            Function::Recovery,
            json_post("/password/forgot", &json!({"email": email})),
        )
        .await
    }

    pub async fn reset_password(&self, email: &str, code: &str, new_password: &str) -> TestResponse {
        let body = json!({"email": email, "code": code, "newPassword": new_password});
        self.call(Function::Recovery, json_post("/password/reset", &body)).await
    }

    /// `POST <path>` of the email function with a bearer id token and a JSON body.
    pub async fn email_call(&self, path: &str, id_token: &str, body: &Value) -> TestResponse {
        self.call(Function::Email, Self::bearer_json("POST", path, id_token, body))
            .await
    }

    pub async fn verify_email(&self, id_token: &str, code: &str) -> TestResponse {
        self.email_call("/email/verify", id_token, &json!({"code": code})).await
    }

    pub async fn change_email(&self, id_token: &str, new_email: &str, password: &str) -> TestResponse {
        let body = json!({"newEmail": new_email, "password": password});
        self.email_call("/email/change", id_token, &body).await
    }

    pub async fn confirm_email_change(&self, id_token: &str, code: &str) -> TestResponse {
        self.email_call("/email/change/confirm", id_token, &json!({"code": code}))
            .await
    }

    /// `POST /mfa/totp/<step>` with a bearer id token and a JSON body.
    pub async fn mfa_call(&self, step: &str, id_token: &str, body: &Value) -> TestResponse {
        let path = format!("/mfa/totp/{step}");
        self.call(Function::Mfa, Self::bearer_json("POST", &path, id_token, body))
            .await
    }

    pub async fn signin_mfa(&self, mfa_token: &str, code: &str) -> TestResponse {
        let body = json!({"mfaToken": mfa_token, "code": code});
        self.call(Function::Signin, json_post("/signin/mfa", &body)).await
    }

    /// `DELETE /sessions/{id}`.
    pub async fn end_session(&self, id_token: &str, session_id: &str) -> TestResponse {
        let path = format!("/sessions/{session_id}");
        self.call(Function::Sessions, bearer("DELETE", &path, id_token)).await
    }

    pub async fn list_sessions(&self, id_token: &str) -> TestResponse {
        self.call(Function::Sessions, bearer("GET", "/sessions", id_token))
            .await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Function::Jwks, request("GET", path, &[], None)).await
    }

    /// The admin function's answer to one event, as `aws lambda invoke` would get it.
    pub async fn admin(&self, event: Value) -> Value {
        let invoker = api::admin::Invoker {
            request_id: uuid::Uuid::new_v4().to_string(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:test-admin".into(),
        };
        api::admin::handle(self.accounts, event, &invoker).await
    }

    /// The authorizer's answer for `Authorization: Bearer <token>`.
    pub async fn authorize(&self, token: &str) -> api::authorizer::AuthorizerResponse {
        let mut event = event(
            "GET",
            "/me",
            &[("authorization", &format!("Bearer {token}"))],
            None,
            "198.51.100.7",
        );
        event["type"] = json!("REQUEST");
        event["identitySource"] = json!([format!("Bearer {token}")]);
        event["routeArn"] = json!("arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/me");
        let event = serde_json::from_value(event).expect("an authorizer event");
        api::authorizer::handle(self.sessions(), event).await
    }

    /// A signed-up user: (email, sign-up response).
    pub async fn new_user(&self) -> (String, TestResponse) {
        let email = unique_email();
        let response = self.signup(&email, PASSWORD).await;
        assert_eq!(response.status, 201, "{response:?}");
        (email, response)
    }

    /// An item of the users table (strongly consistent), for assertions.
    pub async fn dynamodb_item(
        &self,
        pk: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.accounts
            .users
            .client()
            .get_item()
            .table_name(&self.settings.dynamodb.table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// A direct connection to the whitelist's Redis, for assertions.
    pub async fn redis(&self) -> shared::redis_client::Connection {
        let client = shared::redis_client::RedisClient::new(&self.settings.redis).unwrap();
        client.run("test", |c| async move { Ok(c) }).await.unwrap()
    }
}

/// The claims of a JWT, read without verification (for assertions only).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// One test per promise, run twice: on the standalone Redis and on the Redis Cluster.
/// Each name is an `async fn name(target: Target)` of the calling test file.
#[macro_export]
macro_rules! on_both_redis_modes {
    ($($name:ident),* $(,)?) => {
        mod standalone {
            $(#[tokio::test] async fn $name() { super::$name($crate::Target::Standalone).await })*
        }
        mod cluster {
            $(#[tokio::test] async fn $name() { super::$name($crate::Target::Cluster).await })*
        }
    };
}

/// The mails `aws-ses-v2-local` holds for `address`, oldest first (its `GET /store`).
pub fn mails_to(address: &str) -> Vec<Value> {
    let store = format!("{}/store", env("TEST_SES_ENDPOINT"));
    let output = std::process::Command::new("curl")
        .args(["-sf", &store])
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "GET {store} failed");
    let store: Value = serde_json::from_slice(&output.stdout).expect("the store is JSON");
    store["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|mail| {
            mail["destination"]["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(|t| t == address))
        })
        .cloned()
        .collect()
}

/// The 8-digit code of the last mail to `address` (from its text part).
pub fn last_code_to(address: &str) -> String {
    let mails = mails_to(address);
    let mail = mails.last().unwrap_or_else(|| panic!("no mail to {address}"));
    code_in(mail["body"]["text"].as_str().expect("a text part"))
        .unwrap_or_else(|| panic!("no code in the last mail to {address}: {mail}"))
}

/// The first run of exactly 8 digits in `text`.
pub fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 8)
        .map(str::to_string)
}

/// The TOTP code PyOTP (an independent implementation) computes from an otpauth://
/// URI, `steps` steps of 30 s from now.
pub fn pyotp_code(otpauth_uri: &str, steps: i64) -> String {
    let script = "import pyotp, sys, time; print(pyotp.parse_uri(sys.argv[1]).at(time.time() + 30 * int(sys.argv[2])))";
    let output = std::process::Command::new("python3")
        .args(["-c", script, otpauth_uri, &steps.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "pyotp: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}
