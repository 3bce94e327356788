//! `GET /sessions`: list the caller's live sessions.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::SessionContext::from_env().await,
        shared::api::sessions::handle,
    )
    .await
}
