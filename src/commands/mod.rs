//! One module per command (or family of commands). Each takes the process's
//! [`Services`](crate::services::Services) and what the command line said, and returns an
//! exit status; `app` only dispatches.

pub mod bedrock;
pub mod clear;
pub mod console;
pub mod credentials;
pub mod doctor;
pub mod list;
pub mod login;
pub mod man;
pub mod otel_headers;
pub mod serve;
pub mod setup;
pub mod setup_desktop;
pub mod shell;
pub mod sso;
pub mod status;
