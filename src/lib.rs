//! bca: render AI coding agent runs across many repositories as deterministic
//! Kubernetes manifests. The `bca` binary is a thin shell over this library.

pub mod change;
pub mod commands;
pub mod diff;
pub mod local;
pub mod lock;
pub mod output;
pub mod ownership;
pub mod render;
pub mod resolve;
pub mod status;
pub mod terminal;
