//! Email through Amazon SES (API v2) from the configured sender (`MAIL_FROM`).
//! Locally the functions reach `aws-ses-v2-local` through `AWS_ENDPOINT_URL_SESV2`.
//! A mail SES does not accept is a 503: the caller may retry, nothing counts as sent.

mod messages;

pub use messages::Mail;

use std::time::Duration;

use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;

use crate::config::{ConfigError, Settings};
use crate::error::ApiError;

pub struct Mailer {
    client: Client,
    from: String,
}

fn content(data: &str) -> Result<Content, ApiError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| ApiError::internal(format!("mail content: {e}")))
}

impl Mailer {
    /// Builds the client without a network round trip.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(500))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let retry = RetryConfig::standard().with_max_attempts(2);
        let config = crate::aws::sdk_config(&settings.aws, settings.aws.ses_endpoint.as_deref(), timeouts, retry)?;
        Ok(Mailer {
            client: Client::new(&config),
            from: settings.mail_from.clone(),
        })
    }

    /// Sends one mail (text and HTML parts) to one address.
    pub async fn send(&self, to: &str, mail: &Mail) -> Result<(), ApiError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                let code = aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("-")
                    .to_owned();
                ApiError::unavailable(format!("ses send_email: {code}"))
            })?;
        Ok(())
    }
}
