//! The steps themselves (feature `client`): GitHub, git, the agents, and the secrets
//! they handle. One module each.

pub mod agents;
pub mod askpass;
pub mod context;
pub mod error;
pub mod git;
pub mod github;
pub mod log;
pub mod paths;
pub mod secrets;
pub mod steps;

pub use error::RunError;
pub use paths::Paths;
