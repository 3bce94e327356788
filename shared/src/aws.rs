//! AWS SDK configuration read straight from the Lambda environment.
//!
//! Lambda hands every instance its region and its role's credentials as
//! environment variables that stay valid for the life of the instance. Reading them
//! here, instead of through aws-config's provider chain (STS, SSO, IMDS, profile
//! files), keeps that chain out of every binary (see BENCHMARKS.md, section 5) and
//! can never make a network call at start-up. The endpoint overrides are the SDK's
//! own variables: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`. (The
//! clients' `behavior-version-latest` feature supplies the behavior version.)

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, TimeoutConfig};
use aws_types::SdkConfig;

use crate::config::ConfigError;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `service_env` is the service's endpoint suffix, e.g. `DYNAMODB` or `SECRETS_MANAGER`;
/// `endpoint`, when given, wins over the environment (tests point at local servers).
pub fn sdk_config(
    service_env: &str,
    endpoint: Option<&str>,
    timeouts: TimeoutConfig,
    retry: RetryConfig,
) -> Result<SdkConfig, ConfigError> {
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or_else(|| ConfigError("AWS_REGION must be set (Lambda sets it)".into()))?;
    let (Some(access_key), Some(secret_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err(ConfigError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them from the function's role)"
                .into(),
        ));
    };
    let credentials = Credentials::new(access_key, secret_key, var("AWS_SESSION_TOKEN"), None, "environment");
    let mut builder = SdkConfig::builder()
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .timeout_config(timeouts)
        .retry_config(retry);
    let endpoint = endpoint
        .map(str::to_owned)
        .or_else(|| var(&format!("AWS_ENDPOINT_URL_{service_env}")));
    if let Some(endpoint) = endpoint.or_else(|| var("AWS_ENDPOINT_URL")) {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}
