//! The commands beyond printing credentials: status, doctor, exec/env, setup.

pub mod doctor;
pub mod setup;
pub mod shell;
pub mod status;
