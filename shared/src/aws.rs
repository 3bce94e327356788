//! AWS SDK configuration read straight from the Lambda environment.
//!
//! Lambda hands every instance its region and its role's credentials as
//! environment variables that stay valid for the life of the instance. Reading them
//! here, instead of through aws-config's provider chain (STS, SSO, IMDS, profile
//! files), keeps that chain out of every binary (see BENCHMARKS.md, section 5) and
//! can never make a network call at start-up. The values come from
//! [`AwsSettings`] (read by `config` like every other setting); the endpoint
//! overrides are the SDK's own variables: `AWS_ENDPOINT_URL_<SERVICE>`, then
//! `AWS_ENDPOINT_URL`. (The clients' `behavior-version-latest` feature supplies the
//! behavior version.)

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, TimeoutConfig};
use aws_types::SdkConfig;

use crate::config::{AwsSettings, ConfigError};

/// `endpoint`, when given, is the service's own endpoint override (e.g.
/// `AWS_ENDPOINT_URL_DYNAMODB`); otherwise `AWS_ENDPOINT_URL` applies, if set.
pub fn sdk_config(
    aws: &AwsSettings,
    endpoint: Option<&str>,
    timeouts: TimeoutConfig,
    retry: RetryConfig,
) -> Result<SdkConfig, ConfigError> {
    let region = aws
        .region
        .clone()
        .ok_or_else(|| ConfigError("AWS_REGION must be set (Lambda sets it)".into()))?;
    let (Some(access_key), Some(secret_key)) = (aws.access_key_id.clone(), aws.secret_access_key.clone()) else {
        return Err(ConfigError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them from the function's role)"
                .into(),
        ));
    };
    let credentials = Credentials::new(access_key, secret_key, aws.session_token.clone(), None, "environment");
    let mut builder = SdkConfig::builder()
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .timeout_config(timeouts)
        .retry_config(retry);
    if let Some(endpoint) = endpoint.or(aws.endpoint.as_deref()) {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}
