//! HTTP API Lambda authorizer: allows an id token only while its session is live.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_authorizer(shared::context::SessionContext::from_env().await).await
}
