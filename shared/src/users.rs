//! The user store in DynamoDB: one on-demand table, key `pk` (string).
//!
//! - `USER#<id>`: `id`, `email`, `passwordHash`, `createdAt` (ms);
//! - `EMAIL#<normalized email>`: `userId`, `passwordHash`, `createdAt`: the
//!   uniqueness guard, also what sign-in reads (one strongly consistent GetItem).
//!
//! Both items are written in one transaction, each with `attribute_not_exists(pk)`,
//! so email uniqueness holds under concurrent sign-ups without any read first; every
//! later change (password, deletion) changes both in one transaction too, each item
//! conditioned on the other's state, so the pair never disagrees.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use crate::config::{AwsSettings, ConfigError, DynamoDbSettings};
use crate::email::Email;
use crate::error::ApiError;

/// Attempts of a transaction cancelled by `TransactionConflict` (real DynamoDB under
/// contention; DynamoDB Local serializes and never does).
const TRANSACTION_ATTEMPTS: u32 = 4;

/// A user as the store holds it.
#[derive(Clone)]
pub struct StoredUser {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub created_ms: u64,
    /// Set by an operator: the user cannot sign in (both items carry it).
    pub disabled: bool,
    /// The user proved to own `email` (both items carry it).
    pub email_verified: bool,
    /// Sign-in asks for a second factor (both items carry it).
    pub mfa_enabled: bool,
}

/// The second factor's state, kept on the user item only.
#[derive(Debug, Clone, Default)]
pub struct MfaState {
    /// Enrolled but not yet confirmed.
    pub pending: Option<crate::mfa::SealedSecret>,
    /// Confirmed: sign-in asks for codes of this secret.
    pub secret: Option<crate::mfa::SealedSecret>,
    /// Hashes of the recovery codes not used yet.
    pub recovery_hashes: Vec<String>,
}

impl StoredUser {
    /// What the user's id tokens state about them.
    pub fn identity(&self) -> crate::tokens::Identity {
        crate::tokens::Identity {
            email: self.email.clone(),
            email_verified: self.email_verified,
            signed_in_with_otp: false,
        }
    }
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

fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// Any SDK failure that is not a condition we test for: a 503 whose cause names the
/// operation and the kind of failure (never the request's values).
fn unavailable<E: ProvideErrorMetadata>(operation: &'static str, error: &SdkError<E>) -> ApiError {
    let kind = match error {
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "response error",
        SdkError::ServiceError(_) => "service error",
        SdkError::ConstructionFailure(_) => "construction failure",
        _ => "other",
    };
    let code = error.as_service_error().and_then(|e| e.code()).unwrap_or("-");
    ApiError::unavailable(format!("dynamodb {operation}: {kind} ({code})"))
}

/// How a transaction ended, when it did not go through.
enum Cancelled {
    /// The item at this index failed its condition.
    Condition(usize),
    Other(ApiError),
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, ApiError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| ApiError::internal(format!("user item without the attribute {name}")))
}

fn flag(item: &HashMap<String, AttributeValue>, name: &str) -> bool {
    item.get(name).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
}

fn millis(item: &HashMap<String, AttributeValue>, name: &str) -> Result<u64, ApiError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError::internal(format!("user item without the number {name}")))
}

impl UserStore {
    /// Builds the client without a network round trip: region, credentials and the
    /// endpoint come from the settings (`crate::aws`).
    pub fn new(settings: &DynamoDbSettings, aws: &AwsSettings) -> Result<Self, ConfigError> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.connect_timeout)
            .operation_attempt_timeout(settings.operation_timeout.mul_f32(0.6))
            .operation_timeout(settings.operation_timeout)
            .build();
        let retry = RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(20));
        let config = crate::aws::sdk_config(aws, settings.endpoint.as_deref(), timeouts, retry)?;
        Ok(UserStore {
            client: Client::new(&config),
            table: settings.table.clone(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs one transaction, retrying `TransactionConflict` with backoff.
    async fn transact(&self, operation: &'static str, items: Vec<TransactWriteItem>) -> Result<(), Cancelled> {
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
            let reasons: Vec<String> = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_owned())
                    .collect(),
                _ => vec![],
            };
            if let Some(index) = reasons.iter().position(|r| r == "ConditionalCheckFailed") {
                return Err(Cancelled::Condition(index));
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && attempt < TRANSACTION_ATTEMPTS {
                tracing::info!(operation, attempt, "transaction conflicted; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            return Err(Cancelled::Other(unavailable(operation, &error)));
        }
        Err(Cancelled::Other(ApiError::unavailable(format!(
            "dynamodb {operation}: conflicted {TRANSACTION_ATTEMPTS} times"
        ))))
    }

    /// Runs one transaction whose conditions say whether it applies: `false` if one
    /// did not hold.
    async fn transact_if(&self, operation: &'static str, items: Vec<TransactWriteItem>) -> Result<bool, ApiError> {
        match self.transact(operation, items).await {
            Ok(()) => Ok(true),
            Err(Cancelled::Condition(_)) => Ok(false),
            Err(Cancelled::Other(error)) => Err(error),
        }
    }

    /// Writes the user and its email guard atomically; 409 if the email is taken.
    pub async fn create(&self, user: NewUser<'_>) -> Result<(), ApiError> {
        let created = AttributeValue::N(user.created_ms.to_string());
        let put = |pk: String| {
            Put::builder()
                .table_name(&self.table)
                .item("pk", s(&pk))
                .item("passwordHash", s(user.password_hash))
                .item("createdAt", created.clone())
                .condition_expression("attribute_not_exists(pk)")
        };
        let user_item = put(user_pk(user.id))
            .item("id", s(user.id))
            .item("email", s(user.email.as_str()));
        let email_item = put(email_pk(user.email.as_str())).item("userId", s(user.id));
        let items = [user_item, email_item]
            .into_iter()
            .map(|put| put.build().map(|put| TransactWriteItem::builder().put(put).build()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format!("sign-up transaction: {e}")))?;
        match self.transact("create user", items).await {
            Ok(()) => Ok(()),
            // Items in order: [user, email]; a taken email fails the second.
            Err(Cancelled::Condition(1)) => Err(ApiError::EmailTaken),
            Err(Cancelled::Condition(_)) => Err(ApiError::internal("a fresh user id already exists")),
            Err(Cancelled::Other(error)) => Err(error),
        }
    }

    async fn get(&self, pk: String) -> Result<Option<HashMap<String, AttributeValue>>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("get_item", &e))?;
        Ok(output.item)
    }

    /// The user with this email, if any (strongly consistent).
    pub async fn find_by_email(&self, email: &Email) -> Result<Option<StoredUser>, ApiError> {
        let Some(item) = self.get(email_pk(email.as_str())).await? else {
            return Ok(None);
        };
        Ok(Some(StoredUser {
            id: text(&item, "userId")?,
            email: email.as_str().to_owned(),
            password_hash: text(&item, "passwordHash")?,
            created_ms: millis(&item, "createdAt")?,
            disabled: flag(&item, "disabled"),
            email_verified: flag(&item, "emailVerified"),
            mfa_enabled: flag(&item, "mfaEnabled"),
        }))
    }

    /// The user with this id, if any (strongly consistent).
    pub async fn find_by_id(&self, id: &str) -> Result<Option<StoredUser>, ApiError> {
        let Some(item) = self.get(user_pk(id)).await? else {
            return Ok(None);
        };
        Ok(Some(StoredUser {
            id: id.to_owned(),
            email: text(&item, "email")?,
            password_hash: text(&item, "passwordHash")?,
            created_ms: millis(&item, "createdAt")?,
            disabled: flag(&item, "disabled"),
            email_verified: flag(&item, "emailVerified"),
            mfa_enabled: flag(&item, "mfaEnabled"),
        }))
    }

    /// Applies one update to both of the user's items in one transaction, each under
    /// `condition`: `false` if a condition failed (the user changed or went).
    async fn update_both(
        &self,
        operation: &'static str,
        user: &StoredUser,
        update_expression: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<bool, ApiError> {
        let update = |pk: String| {
            values
                .iter()
                .fold(
                    Update::builder()
                        .table_name(&self.table)
                        .key("pk", s(&pk))
                        .update_expression(update_expression)
                        .condition_expression(condition),
                    |builder, (name, value)| builder.expression_attribute_values(*name, value.clone()),
                )
                .build()
                .map(|update| TransactWriteItem::builder().update(update).build())
        };
        let items = vec![update(user_pk(&user.id)), update(email_pk(&user.email))]
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format!("{operation} transaction: {e}")))?;
        self.transact_if(operation, items).await
    }

    /// Sets or clears the operator's `disabled` flag on both items: `false` if the
    /// user is gone.
    pub async fn set_disabled(&self, user: &StoredUser, disabled: bool) -> Result<bool, ApiError> {
        let values = [(":disabled", AttributeValue::Bool(disabled))];
        self.update_both(
            "set disabled",
            user,
            "SET disabled = :disabled",
            "attribute_exists(pk)",
            &values,
        )
        .await
    }

    /// The second factor's state of a user (strongly consistent).
    pub async fn mfa_state(&self, user_id: &str) -> Result<MfaState, ApiError> {
        let Some(item) = self.get(user_pk(user_id)).await? else {
            return Ok(MfaState::default());
        };
        let sealed = |blob: &str, kid: &str| match (item.get(blob), item.get(kid)) {
            (Some(AttributeValue::S(blob)), Some(AttributeValue::S(kid))) => Some(crate::mfa::SealedSecret {
                kid: kid.clone(),
                blob: blob.clone(),
            }),
            _ => None,
        };
        Ok(MfaState {
            pending: sealed("mfaPending", "mfaPendingKid"),
            secret: sealed("mfaSecret", "mfaKid"),
            recovery_hashes: match item.get("mfaRecovery") {
                Some(AttributeValue::Ss(hashes)) => hashes.clone(),
                _ => vec![],
            },
        })
    }

    /// Enrollment: a new pending secret replaces any earlier pending one.
    pub async fn set_mfa_pending(&self, user: &StoredUser, sealed: &crate::mfa::SealedSecret) -> Result<(), ApiError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&user_pk(&user.id)))
            .update_expression("SET mfaPending = :blob, mfaPendingKid = :kid")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":blob", s(&sealed.blob))
            .expression_attribute_values(":kid", s(&sealed.kid))
            .send()
            .await
            .map_err(|e| unavailable("update_item", &e))?;
        Ok(())
    }

    /// Confirmation: the pending secret becomes the secret (only if it is still the
    /// one confirmed), with the recovery codes and the step just used; both items
    /// say MFA is on. `false` if the pending secret changed meanwhile.
    pub async fn enable_mfa(
        &self,
        user: &StoredUser,
        sealed: &crate::mfa::SealedSecret,
        recovery_hashes: Vec<String>,
        step: u64,
    ) -> Result<bool, ApiError> {
        let user_item = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&user_pk(&user.id)))
            .update_expression(
                "SET mfaSecret = :blob, mfaKid = :kid, mfaRecovery = :codes, mfaLastStep = :step, \
                 mfaEnabled = :yes REMOVE mfaPending, mfaPendingKid",
            )
            .condition_expression("mfaPending = :blob")
            .expression_attribute_values(":blob", s(&sealed.blob))
            .expression_attribute_values(":kid", s(&sealed.kid))
            .expression_attribute_values(":codes", AttributeValue::Ss(recovery_hashes))
            .expression_attribute_values(":step", AttributeValue::N(step.to_string()))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .build();
        let email_item = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&email_pk(&user.email)))
            .update_expression("SET mfaEnabled = :yes")
            .condition_expression("userId = :id")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":id", s(&user.id))
            .build();
        let build_error = |e: aws_sdk_dynamodb::error::BuildError| ApiError::internal(format!("enable mfa: {e}"));
        let items = vec![
            TransactWriteItem::builder()
                .update(user_item.map_err(build_error)?)
                .build(),
            TransactWriteItem::builder()
                .update(email_item.map_err(build_error)?)
                .build(),
        ];
        self.transact_if("enable mfa", items).await
    }

    /// Turns MFA off on both items and forgets the secret and the recovery codes.
    pub async fn disable_mfa(&self, user: &StoredUser) -> Result<bool, ApiError> {
        let values = [(":no", AttributeValue::Bool(false))];
        let update =
            "SET mfaEnabled = :no REMOVE mfaSecret, mfaKid, mfaRecovery, mfaLastStep, mfaPending, mfaPendingKid";
        self.update_both("disable mfa", user, update, "attribute_exists(pk)", &values)
            .await
    }

    /// Accepts a TOTP step once: `true` if it is later than every step used before
    /// (one conditional write, so two requests with one code cannot both pass).
    pub async fn use_totp_step(&self, user_id: &str, step: u64) -> Result<bool, ApiError> {
        let values = [(":step", AttributeValue::N(step.to_string()))];
        let condition = "mfaEnabled = :yes AND mfaLastStep < :step";
        self.update_user_if(user_id, "SET mfaLastStep = :step", condition, &values)
            .await
    }

    /// Uses a recovery code up: `true` if its hash was still there.
    pub async fn use_recovery_code(&self, user_id: &str, hash: &str) -> Result<bool, ApiError> {
        let values = [
            (":codes", AttributeValue::Ss(vec![hash.to_owned()])),
            (":code", s(hash)),
        ];
        let condition = "mfaEnabled = :yes AND contains(mfaRecovery, :code)";
        self.update_user_if(user_id, "DELETE mfaRecovery :codes", condition, &values)
            .await
    }

    /// One conditional update of the user item (`:yes` is `true`): `false` if the
    /// condition did not hold.
    async fn update_user_if(
        &self,
        user_id: &str,
        update: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<bool, ApiError> {
        let request = values.iter().fold(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&user_pk(user_id)))
                .update_expression(update)
                .condition_expression(condition)
                .expression_attribute_values(":yes", AttributeValue::Bool(true)),
            |request, (name, value)| request.expression_attribute_values(*name, value.clone()),
        );
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(unavailable("update_item", &error)),
        }
    }

    /// Marks the email verified on both items: `false` if the user is gone.
    pub async fn set_email_verified(&self, user: &StoredUser) -> Result<bool, ApiError> {
        let values = [(":yes", AttributeValue::Bool(true))];
        self.update_both(
            "verify email",
            user,
            "SET emailVerified = :yes",
            "attribute_exists(pk)",
            &values,
        )
        .await
    }

    /// A reset: the new hash, and the email counts as verified (the code reached it).
    pub async fn reset_password(&self, user: &StoredUser, new_hash: &str) -> Result<bool, ApiError> {
        let values = [(":new", s(new_hash)), (":yes", AttributeValue::Bool(true))];
        let update = "SET passwordHash = :new, emailVerified = :yes";
        self.update_both("reset password", user, update, "attribute_exists(pk)", &values)
            .await
    }

    /// Moves the user to `new_email` in one transaction: the old address's guard goes
    /// (only if it is still this user's), the new one is created (only if nobody has
    /// it: of two users racing for it, one wins), and the user item follows, verified.
    pub async fn change_email(&self, user: &StoredUser, new_email: &Email) -> Result<(), ApiError> {
        let old_guard = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(&email_pk(&user.email)))
            .condition_expression("userId = :id")
            .expression_attribute_values(":id", s(&user.id))
            .build();
        let new_guard = Put::builder()
            .table_name(&self.table)
            .item("pk", s(&email_pk(new_email.as_str())))
            .item("userId", s(&user.id))
            .item("passwordHash", s(&user.password_hash))
            .item("createdAt", AttributeValue::N(user.created_ms.to_string()))
            .item("emailVerified", AttributeValue::Bool(true))
            .item("disabled", AttributeValue::Bool(user.disabled))
            .item("mfaEnabled", AttributeValue::Bool(user.mfa_enabled))
            .condition_expression("attribute_not_exists(pk)")
            .build();
        let user_item = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&user_pk(&user.id)))
            .update_expression("SET email = :new, emailVerified = :yes")
            .condition_expression("email = :old")
            .expression_attribute_values(":new", s(new_email.as_str()))
            .expression_attribute_values(":old", s(&user.email))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .build();
        let build_error = |e: aws_sdk_dynamodb::error::BuildError| ApiError::internal(format!("email change: {e}"));
        let items = vec![
            TransactWriteItem::builder()
                .delete(old_guard.map_err(build_error)?)
                .build(),
            TransactWriteItem::builder()
                .put(new_guard.map_err(build_error)?)
                .build(),
            TransactWriteItem::builder()
                .update(user_item.map_err(build_error)?)
                .build(),
        ];
        match self.transact("change email", items).await {
            Ok(()) => Ok(()),
            // Items in order: [old guard, new guard, user].
            Err(Cancelled::Condition(1)) => Err(ApiError::EmailTaken),
            // The user changed or went meanwhile: the caller's view is stale.
            Err(Cancelled::Condition(_)) => Err(ApiError::InvalidToken),
            Err(Cancelled::Other(error)) => Err(error),
        }
    }

    /// Replaces the password hash on both items, only if neither changed since `user`
    /// was read: `false` if another change won the race.
    pub async fn set_password_hash(&self, user: &StoredUser, new_hash: &str) -> Result<bool, ApiError> {
        let values = [(":new", s(new_hash)), (":old", s(&user.password_hash))];
        self.update_both(
            "set password",
            user,
            "SET passwordHash = :new",
            "passwordHash = :old",
            &values,
        )
        .await
    }

    /// Deletes the user and its email guard together: `false` if the user was gone
    /// already (a retried deletion that had gone through).
    pub async fn delete(&self, user: &StoredUser) -> Result<bool, ApiError> {
        let user_item = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(&user_pk(&user.id)))
            .condition_expression("attribute_exists(pk)")
            .build();
        // The guard goes only if it is still this user's.
        let email_item = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(&email_pk(&user.email)))
            .condition_expression("userId = :id")
            .expression_attribute_values(":id", s(&user.id))
            .build();
        let items = [user_item, email_item]
            .into_iter()
            .map(|delete| delete.map(|delete| TransactWriteItem::builder().delete(delete).build()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format!("delete transaction: {e}")))?;
        self.transact_if("delete user", items).await
    }
}
