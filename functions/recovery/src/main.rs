//! `POST /password/forgot` and `POST /password/reset`: recovery through an emailed code.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::AccountContext::from_env().await,
        shared::api::recovery::handle,
    )
    .await
}
