//! `POST /email/verify`, `/email/verify/resend`, `/email/change`, `/email/change/confirm`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::AccountContext::from_env().await,
        shared::api::email::handle,
    )
    .await
}
