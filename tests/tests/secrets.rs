//! In AWS the key document lives in Secrets Manager and is read once at start-up.

use e2e::process::ServerProcess;
use e2e::*;

#[tokio::test]
async fn the_key_document_is_read_from_secrets_manager_at_start_up() {
    let moto = ServerProcess::moto();
    let endpoint = moto.http_url();
    let lookup = |name: &str| match name {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER" => Some(endpoint.clone()),
        "AWS_REGION" => Some("us-east-1".to_string()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("local".to_string()),
        _ => None,
    };
    let aws = shared::config::AwsSettings::from_lookup(&lookup);
    let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder().build();
    let retry = aws_sdk_secretsmanager::config::retry::RetryConfig::standard();
    let config = shared::aws::sdk_config(&aws, aws.secrets_manager_endpoint.as_deref(), timeouts, retry).unwrap();
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let created = client
        .create_secret()
        .name("account-service/keys")
        .secret_string(keys_json())
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();

    let function_env = |name: &str| match name {
        "AUTH_KEYS_SECRET_ARN" => Some(arn.clone()),
        "ISSUER" => Some(ISSUER.to_string()),
        "REDIS_URL" => Some(env("TEST_REDIS_URL")),
        _ => lookup(name),
    };
    let document = shared::context::load_key_document(&function_env)
        .await
        .expect("the key document from the secret");
    let settings = shared::Settings::from_lookup(&function_env, document).expect("settings");
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
    let error = shared::secrets::fetch_key_document(&aws, empty.arn().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("empty"), "{error}");
    let error =
        shared::secrets::fetch_key_document(&aws, "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
            .await
            .unwrap_err();
    assert!(error.to_string().contains("cannot read the key secret"), "{error}");
}
