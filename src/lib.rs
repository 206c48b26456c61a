//! awscred: short-lived AWS credentials for Claude Code on Bedrock, the AWS CLI and every
//! AWS SDK, signed in by awscred itself and kept in the operating system's keyring.
//!
//! See ARCHITECTURE.md for how a request flows from the command line to the printed JSON.

pub mod app;
pub mod cache;
pub mod claude;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod env;
pub mod error;
pub mod form;
pub mod fuzzing;
pub mod hardening;
pub mod identity_center;
pub mod lock;
pub mod log;
pub mod login;
pub mod net;
pub mod oidc;
pub mod output;
pub mod remote;
pub mod safe_write;
pub mod secret;
pub mod services;
pub mod sigv4;
pub mod source;
pub mod store;
pub mod sts;
pub mod ui;
