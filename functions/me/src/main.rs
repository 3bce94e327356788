//! `GET /me`: the sample protected route; returns the caller's id-token claims.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(shared::context::KeyContext::from_env().await, shared::api::me::handle).await
}
