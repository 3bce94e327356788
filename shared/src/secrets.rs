//! The key document from AWS Secrets Manager, read once per Lambda instance at
//! start-up (every request needs the keys, so this cannot wait for the first one).

use crate::config::{AwsSettings, ConfigError};

#[cfg(feature = "secrets-manager")]
pub async fn fetch_key_document(aws: &AwsSettings, secret_id: &str) -> Result<String, ConfigError> {
    use aws_sdk_secretsmanager::config::retry::RetryConfig;
    use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
    use std::time::Duration;

    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let config = crate::aws::sdk_config(
        aws,
        aws.secrets_manager_endpoint.as_deref(),
        timeouts,
        RetryConfig::standard(),
    )?;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            // The SDK's message names the secret and the cause, never its value.
            ConfigError(format!(
                "cannot read the key secret {secret_id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    output.secret_string.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        ConfigError(format!(
            "the key secret {secret_id} is empty: put the key document in it"
        ))
    })
}

#[cfg(not(feature = "secrets-manager"))]
pub async fn fetch_key_document(_aws: &AwsSettings, _secret_id: &str) -> Result<String, ConfigError> {
    Err(ConfigError(
        "AUTH_KEYS_SECRET_ARN needs the `secrets-manager` feature of the shared crate".into(),
    ))
}
