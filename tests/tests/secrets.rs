//! In AWS the key document lives in Secrets Manager and is read once at start-up.
//! (Its own test binary: it sets process environment variables.)

use e2e::process::ServerProcess;
use e2e::*;

#[tokio::test]
async fn the_key_document_is_read_from_secrets_manager_at_start_up() {
    let moto = ServerProcess::moto();
    std::env::set_var("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.http_url());
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ] {
        std::env::set_var(name, value);
    }
    let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder().build();
    let retry = aws_sdk_secretsmanager::config::retry::RetryConfig::standard();
    let config = shared::aws::sdk_config("SECRETS_MANAGER", None, timeouts, retry).unwrap();
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let created = client
        .create_secret()
        .name("account-service/keys")
        .secret_string(keys_json())
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();

    std::env::set_var("AUTH_KEYS_SECRET_ARN", &arn);
    std::env::set_var("ISSUER", ISSUER);
    std::env::set_var("REDIS_URL", env("TEST_REDIS_URL"));
    let settings = shared::Settings::from_env()
        .await
        .expect("settings with keys from the secret");
    assert_eq!(settings.keys_json, keys_json());
    let context = shared::context::SessionContext::new(settings).unwrap();
    assert_eq!(context.tokens.keys().id_signing.kid, keys().current_kid);

    // An empty secret is refused at start-up with a clear message.
    let empty = client
        .create_secret()
        .name("account-service/empty")
        .secret_string(" ")
        .send()
        .await
        .unwrap();
    let error = shared::secrets::fetch_key_document(empty.arn().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("empty"), "{error}");
    let error = shared::secrets::fetch_key_document("arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot read the key secret"), "{error}");
}
