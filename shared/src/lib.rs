//! The account service's domain, shared by every Lambda function.
//!
//! Layers, by name:
//! - [`config`]: settings from the environment, read once per Lambda instance;
//! - [`error`]: the one error type, mapped to status + contract error JSON in one place;
//! - [`http`]: the HTTP edge (body limits, JSON rules, bearer tokens, responses);
//! - [`email`], [`password`]: typed values parsed at the edge;
//! - [`keys`], [`tokens`]: signing keys, JWKS, id and refresh tokens;
//! - [`redis_client`], [`whitelist`]: the refresh-token whitelist in Redis (Lua);
//!   [`client`], [`device`]: the caller's address and device label kept with a session;
//! - [`users`]: the user store in DynamoDB (feature `users`);
//! - [`secrets`]: the key document from Secrets Manager (feature `secrets-manager`);
//! - [`aws`]: AWS SDK configuration from the Lambda environment (both features);
//! - [`api`]: one handler per endpoint; `functions/*/src/main.rs` only wires them;
//! - [`browser`]: the refresh cookie, the Origin allow-list (CSRF) and CORS, at the edge;
//! - [`runtime`]: logging and the Lambda entry point shared by every function.

pub mod api;
#[cfg(feature = "aws")]
pub mod aws;
pub mod browser;
pub mod client;
pub mod codes;
pub mod config;
pub mod context;
pub mod device;
pub mod email;
pub mod error;
pub mod http;
pub mod keys;
#[cfg(feature = "mail")]
pub mod mail;
pub mod metrics;
#[cfg(feature = "users")]
pub mod mfa;
pub mod rate_limit;
pub mod redis_client;
pub mod runtime;
pub mod secrets;
pub mod time;
pub mod tokens;
pub mod whitelist;

#[cfg(feature = "users")]
pub mod password;
#[cfg(feature = "users")]
pub mod users;

pub use config::Settings;
pub use error::ApiError;
