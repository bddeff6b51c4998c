//! Exit codes of `bca-runner`. The rendered Job's `podFailurePolicy` fails the Job at
//! once on the permanent ones instead of retrying what a retry cannot fix.

/// A failure a retry may fix: the network, GitHub having a bad minute, a flaky agent.
pub const RETRYABLE: u8 = 1;
/// Bad invocation or configuration: a missing contract, an unreadable secret file.
pub const USAGE: u8 = 2;
/// A failure a retry cannot fix: a rejected token, a repository that does not exist,
/// GitHub refusing the pull request.
pub const PERMANENT: u8 = 3;

/// The codes `podFailurePolicy` treats as "fail the Job now".
pub const FAIL_JOB: [u8; 2] = [USAGE, PERMANENT];
