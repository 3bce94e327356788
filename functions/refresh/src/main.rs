//! `POST /tokens`: rotate a refresh token into a new pair.

#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(shared::context::SessionContext::from_env().await, shared::api::refresh::handle).await
}
