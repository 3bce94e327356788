//! `POST /signout`: end the session of a refresh token.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::SessionContext::from_env().await,
        shared::api::signout::handle,
    )
    .await
}
