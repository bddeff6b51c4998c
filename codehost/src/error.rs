//! Failures of a code host request, sorted by what the caller can do about them: the
//! runner maps the kind to its exit codes, the CLI adds context.

/// What a retry can do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The network, the host having a bad minute, a rate limit longer than we wait.
    Retryable,
    /// Bad configuration: an endpoint that is not a URL, an unreadable secret file.
    Usage,
    /// A rejected token, a missing permission, a refused request.
    Permanent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    pub kind: ErrorKind,
    /// The HTTP status the host answered, where there was one.
    pub status: Option<u16>,
    pub message: String,
}

impl HostError {
    pub fn retryable(message: impl Into<String>) -> HostError {
        HostError { kind: ErrorKind::Retryable, status: None, message: message.into() }
    }
    pub fn usage(message: impl Into<String>) -> HostError {
        HostError { kind: ErrorKind::Usage, status: None, message: message.into() }
    }
    pub fn permanent(message: impl Into<String>) -> HostError {
        HostError { kind: ErrorKind::Permanent, status: None, message: message.into() }
    }
    pub fn with_status(mut self, status: u16) -> HostError {
        self.status = Some(status);
        self
    }
}
