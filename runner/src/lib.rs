//! The runner side of bca: what a rendered Job hands to each step (the run contract),
//! and the facts both sides must agree on (paths, user, secret keys, steps).
//!
//! `bca` depends on this library so that the manifests it writes and the binary that
//! reads them cannot drift apart.

pub mod agent;
pub mod contract;
pub mod exit;
pub mod marker;
pub mod merge;
pub mod outcome;
pub mod pod;
pub mod process;
pub mod step;

#[cfg(feature = "client")]
pub mod run;

pub use agent::Agent;
pub use bca_codehost::Repository;
pub use contract::{RunContract, CONTRACT_VERSION};
pub use step::Step;
