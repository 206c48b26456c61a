//! awscred: short-lived AWS credentials for Claude Code on Bedrock, the AWS CLI and every
//! AWS SDK, signed in by awscred itself and kept in the operating system's keyring.
//!
//! See ARCHITECTURE.md for how a request flows from the command line to the printed JSON.

pub mod app;
pub(crate) mod bedrock_token;
pub mod cache;
pub(crate) mod claude;
pub(crate) mod cli;
pub mod clock;
pub(crate) mod commands;
pub mod config;
pub mod credentials;
pub mod env;
pub mod error;
pub(crate) mod form;
pub mod fuzzing;
pub(crate) mod hardening;
pub(crate) mod identity_center;
pub(crate) mod lock;
pub(crate) mod log;
pub(crate) mod login;
pub(crate) mod net;
pub(crate) mod oidc;
pub(crate) mod output;
pub(crate) mod remote;
pub(crate) mod safe_write;
pub mod secret;
pub(crate) mod services;
pub(crate) mod signin_oauth;
pub(crate) mod sigv4;
pub(crate) mod source;
pub mod store;
pub(crate) mod sts;
pub(crate) mod ui;
