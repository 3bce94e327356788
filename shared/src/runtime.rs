//! The Lambda entry point every HTTP function shares: JSON logs, one error mapping,
//! and panics turned into the contract's 500 instead of a crashed runtime.
//!
//! Every function's `main` runs on tokio's current-thread runtime: Lambda hands an
//! instance one event at a time, and on one thread a Redis reply reaches the handler
//! without waking another thread (a loopback round trip took half the time in the
//! bench), and initialization starts no worker threads.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};

use crate::browser::{AllowedOrigins, Edge};
use crate::error::ApiError;
use crate::http::error_response;

/// Structured JSON logs on stdout, one line per event, with the runtime's span
/// (which carries `requestId`). Level (`trace` to `error`) from `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL`, default `info`.
pub fn init_logging() {
    init_logging_to(std::io::stdout);
}

/// [`init_logging`] with another destination (tests capture the lines).
pub fn init_logging_to<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .ok()
        .and_then(|level| level.trim().parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_max_level(level)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}

/// Runs one request through a handler: refuses what the browser rules refuse, maps the
/// handler's error, catches its panic, answers CORS and delivers the refresh cookie
/// (`browser::Edge`: once here, so no handler repeats it), and logs the outcome.
pub async fn respond<'a, C, F, Fut>(context: &'a C, request: Request, handler: F) -> Response<Body>
where
    C: AllowedOrigins,
    F: FnOnce(&'a C, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + 'a,
{
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let edge = Edge::of(&request, context.allowed_origins());
    let outcome = match edge.refusal() {
        Some(refused) => Ok(Err(refused)),
        None => {
            AssertUnwindSafe(async move { handler(context, request).await })
                .catch_unwind()
                .await
        }
    };
    let (response, cause) = match outcome {
        Ok(Ok(response)) => (response, None),
        Ok(Err(error)) => (error_response(&error), error.cause().map(str::to_owned)),
        Err(_panic) => (
            error_response(&ApiError::internal("handler panicked")),
            Some("handler panicked".to_owned()),
        ),
    };
    let response = edge.finish(response);
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The one log line of the request; a 503 or 500 carries its cause here, once.
    match cause {
        Some(cause) if status >= 500 => {
            tracing::error!(request_id, method, path, status, latency_ms, cause, "request failed")
        }
        _ => tracing::info!(request_id, method, path, status, latency_ms, "request served"),
    }
    response
}

/// The whole `main` of an HTTP function: logging, the context built once, the runtime loop.
pub async fn run_http<C, F, Fut>(
    context: Result<C, crate::config::ConfigError>,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    C: AllowedOrigins + Send + Sync + 'static,
    F: Fn(&'static C, Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'static,
{
    let context = context.inspect_err(|e| tracing::error!(error = %e, "function cannot start"))?;
    // Lives as long as the Lambda instance: clients are reused across invocations.
    let context: &'static C = Box::leak(Box::new(context));
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(respond(context, request, handler).await)
    }))
    .await
}

/// The error a function's `main` returns when it cannot start or the runtime fails.
pub type Error = lambda_http::Error;

/// The whole `main` of the authorizer function (a plain Lambda event, not HTTP).
pub async fn run_authorizer(
    context: Result<crate::context::SessionContext, crate::config::ConfigError>,
) -> Result<(), Error> {
    use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
    use lambda_runtime::LambdaEvent;
    let context = context.inspect_err(|e| tracing::error!(error = %e, "function cannot start"))?;
    let context: &'static crate::context::SessionContext = Box::leak(Box::new(context));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, Error>(crate::api::authorizer::handle(context, event.payload).await)
        },
    ))
    .await
}

/// The whole `main` of the admin function (a plain Lambda event, invoked with IAM).
#[cfg(feature = "users")]
pub async fn run_admin(
    context: Result<crate::context::AccountContext, crate::config::ConfigError>,
) -> Result<(), Error> {
    use lambda_runtime::LambdaEvent;
    let context = context.inspect_err(|e| tracing::error!(error = %e, "function cannot start"))?;
    let context: &'static crate::context::AccountContext = Box::leak(Box::new(context));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let invoker = crate::api::admin::Invoker {
                request_id: event.context.request_id.clone(),
                function_arn: event.context.invoked_function_arn.clone(),
            };
            Ok::<_, Error>(crate::api::admin::handle(context, event.payload, &invoker).await)
        },
    ))
    .await
}
