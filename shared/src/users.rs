//! The user store in DynamoDB: one on-demand table, key `pk` (string).
//!
//! - `USER#<id>`: `id`, `email`, `passwordHash`, `createdAt` (ms);
//! - `EMAIL#<normalized email>`: `userId`, `passwordHash`, `createdAt`: the
//!   uniqueness guard, also what sign-in reads (one strongly consistent GetItem).
//!
//! Both items are written in one transaction, each with `attribute_not_exists(pk)`,
//! so email uniqueness holds under concurrent sign-ups without any read first.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use crate::config::{ConfigError, DynamoDbSettings};
use crate::email::Email;
use crate::error::ApiError;

/// Attempts of a sign-up transaction cancelled by `TransactionConflict` (real
/// DynamoDB under contention; DynamoDB Local serializes and never does).
const TRANSACTION_ATTEMPTS: u32 = 4;

/// A user as sign-in needs it.
#[derive(Clone)]
pub struct StoredUser {
    pub id: String,
    pub email: String,
    pub password_hash: String,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub created_ms: u64,
}

pub struct UserStore {
    client: Client,
    table: String,
}

fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}

fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

/// Any SDK failure that is not the condition we test for: timeouts and unreachable
/// endpoints are 503; the raw error is logged, never returned.
fn unavailable<E: std::fmt::Debug>(operation: &'static str, error: &SdkError<E>) -> ApiError {
    let kind = match error {
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "response error",
        SdkError::ServiceError(_) => "service error",
        SdkError::ConstructionFailure(_) => "construction failure",
        _ => "other",
    };
    tracing::error!(operation, kind, "dynamodb call failed");
    ApiError::Unavailable
}

impl UserStore {
    /// Builds the client without a network round trip: region, credentials and the
    /// endpoint come from the environment (`crate::aws`).
    pub fn new(settings: &DynamoDbSettings) -> Result<Self, ConfigError> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.connect_timeout)
            .operation_attempt_timeout(settings.operation_timeout.mul_f32(0.6))
            .operation_timeout(settings.operation_timeout)
            .build();
        let retry = RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(20));
        let config = crate::aws::sdk_config("DYNAMODB", settings.endpoint.as_deref(), timeouts, retry)?;
        Ok(UserStore {
            client: Client::new(&config),
            table: settings.table.clone(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes the user and its email guard atomically; 409 if the email is taken.
    pub async fn create(&self, user: NewUser<'_>) -> Result<(), ApiError> {
        let created = AttributeValue::N(user.created_ms.to_string());
        let hash = AttributeValue::S(user.password_hash.to_owned());
        let user_item = Put::builder()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(user_pk(user.id)))
            .item("id", AttributeValue::S(user.id.to_owned()))
            .item("email", AttributeValue::S(user.email.as_str().to_owned()))
            .item("passwordHash", hash.clone())
            .item("createdAt", created.clone())
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|_| ApiError::Internal)?;
        let email_item = Put::builder()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(email_pk(user.email)))
            .item("userId", AttributeValue::S(user.id.to_owned()))
            .item("passwordHash", hash)
            .item("createdAt", created)
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|_| ApiError::Internal)?;
        let items = vec![
            TransactWriteItem::builder().put(user_item).build(),
            TransactWriteItem::builder().put(email_item).build(),
        ];

        let mut backoff = Duration::from_millis(25);
        for attempt in 1..=TRANSACTION_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let reasons: Vec<String> = error
                .as_service_error()
                .and_then(|e| match e {
                    TransactWriteItemsError::TransactionCanceledException(e) => Some(e),
                    _ => None,
                })
                .map(|e| {
                    e.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            // Reasons are in item order: [user item, email item].
            if reasons.get(1).map(String::as_str) == Some("ConditionalCheckFailed") {
                return Err(ApiError::EmailTaken);
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && attempt < TRANSACTION_ATTEMPTS {
                tracing::info!(attempt, "sign-up transaction conflicted; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            if !reasons.is_empty() {
                tracing::error!(?reasons, "sign-up transaction cancelled");
            }
            return Err(unavailable("transact_write_items", &error));
        }
        Err(ApiError::Unavailable)
    }

    /// The user with this email, if any (strongly consistent).
    pub async fn find_by_email(&self, email: &Email) -> Result<Option<StoredUser>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(email_pk(email)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("get_item", &e))?;
        let Some(item) = output.item else { return Ok(None) };
        let text = |item: &HashMap<String, AttributeValue>, name: &str| -> Result<String, ApiError> {
            item.get(name).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| {
                tracing::error!(attribute = name, "email item is missing an attribute");
                ApiError::Internal
            })
        };
        Ok(Some(StoredUser {
            id: text(&item, "userId")?,
            email: email.as_str().to_owned(),
            password_hash: text(&item, "passwordHash")?,
        }))
    }
}
