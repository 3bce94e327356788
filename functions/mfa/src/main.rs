//! `POST /mfa/totp/enroll`, `/mfa/totp/confirm`, `/mfa/totp/disable`: the second factor.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::AccountContext::from_env().await,
        shared::api::mfa::handle,
    )
    .await
}
