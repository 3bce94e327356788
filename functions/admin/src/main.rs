//! `admin`: operator actions on one user, invoked with IAM only (no HTTP route).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_admin(shared::context::AccountContext::from_env().await).await
}
