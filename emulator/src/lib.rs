//! A local AWS emulator for awscred's tests and demo.
//!
//! It speaks the real wire protocols on 127.0.0.1: IAM Identity Center OIDC (restJson:
//! RegisterClient, StartDeviceAuthorization, CreateToken), the IAM Identity Center portal
//! (GetRoleCredentials, Logout) and STS (query protocol with XML answers: GetCallerIdentity,
//! AssumeRole), verifying every STS request's SigV4 signature against credentials it issued.
//! Tests drive it in-process through [`Emulator`] or over HTTP under `/_emulator/`:
//! request counters, device-code approval, lifetimes, revocation and fault injection. A
//! person approves a device code in the browser, on the page the device URL opens.
//!
//! One module per service: `oidc` (SSO-OIDC and the browser pages), `portal` (the SSO
//! portal), `portal_accounts` (its ListAccounts and ListAccountRoles), `signin` (the AWS
//! console federation endpoint), `sts` (STS and Cognito identity pools), `metadata` (IMDS and the container
//! endpoint), `bedrock` (Bedrock runtime), `admin` (`/_emulator/…`); `wire` holds what
//! they share on the wire, `sigv4` the signature check and `state` what the emulator
//! remembers and the [`Emulator`] handle.

#![allow(clippy::result_large_err)]

use axum::Router;
use axum::routing::{get, post};

mod admin;
mod bedrock;
mod metadata;
mod oidc;
mod portal;
mod portal_accounts;
mod signin;
mod signin_oauth;
mod sigv4;
mod state;
mod sts;
mod wire;

pub use bedrock::frame;
pub use oidc::pkce_challenge;
pub use signin_oauth::DEFAULT_PRINCIPAL as SIGNIN_DEFAULT_PRINCIPAL;
pub use state::{
    ConsoleLogin, Emulator, EmulatorState, Fault, Issued, PortalAccount, Settings, WebIdentityCheck,
};
pub(crate) use state::{Shared, lock};
pub use sts::jwks_check;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/client/register", post(oidc::register_client))
        .route(
            "/device_authorization",
            post(oidc::start_device_authorization),
        )
        .route("/token", post(oidc::create_token))
        .route("/federation/credentials", get(portal::get_role_credentials))
        .route("/logout", post(portal::logout))
        .route("/", post(sts::sts))
        .route("/device", get(oidc::device_page))
        .route("/device/approve", post(oidc::device_approve))
        .route("/authorize", get(oidc::authorize))
        .route("/ecs-credentials", get(metadata::container_credentials))
        .route("/inference-profiles", get(bedrock::list_inference_profiles))
        .route("/model/{id}/invoke", post(bedrock::invoke))
        .route(
            "/model/{id}/invoke-with-response-stream",
            post(bedrock::invoke_stream),
        )
        .route(
            "/latest/api/token",
            axum::routing::put(metadata::imds_token),
        )
        .route(
            "/latest/meta-data/iam/security-credentials/",
            get(metadata::imds_role_name),
        )
        .route(
            "/latest/meta-data/iam/security-credentials/{role}",
            get(metadata::imds_credentials),
        )
        .route("/assignment/accounts", get(portal_accounts::list_accounts))
        .route(
            "/assignment/roles",
            get(portal_accounts::list_account_roles),
        )
        .route("/federation", get(signin::federation))
        .route("/_emulator/counters", get(admin::counters))
        .route("/_emulator/approve", post(admin::approve))
        .route("/_emulator/settings", post(admin::settings))
        .route("/_emulator/fault", post(admin::fault))
        .route("/_emulator/expire", post(admin::expire))
        .route("/v1/authorize", get(signin_oauth::authorize))
        .route("/v1/token", post(signin_oauth::token))
        .route("/_emulator/signin/expire", post(signin_oauth::admin_expire))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wire::apply_rewrite,
        ))
        .with_state(state)
}
