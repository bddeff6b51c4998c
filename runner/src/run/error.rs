//! Failures of a step, sorted by what a retry can do about them.

use crate::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Retryable,
    Usage,
    Permanent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    pub kind: Kind,
    pub message: String,
}

impl RunError {
    pub fn retryable(message: impl Into<String>) -> RunError {
        RunError { kind: Kind::Retryable, message: message.into() }
    }
    pub fn usage(message: impl Into<String>) -> RunError {
        RunError { kind: Kind::Usage, message: message.into() }
    }
    pub fn permanent(message: impl Into<String>) -> RunError {
        RunError { kind: Kind::Permanent, message: message.into() }
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Retryable => exit::RETRYABLE,
            Kind::Usage => exit::USAGE,
            Kind::Permanent => exit::PERMANENT,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

/// What the code host could not do, sorted the same way.
impl From<bca_codehost::HostError> for RunError {
    fn from(e: bca_codehost::HostError) -> RunError {
        let kind = match e.kind {
            bca_codehost::ErrorKind::Retryable => Kind::Retryable,
            bca_codehost::ErrorKind::Usage => Kind::Usage,
            bca_codehost::ErrorKind::Permanent => Kind::Permanent,
        };
        RunError { kind, message: e.message }
    }
}
