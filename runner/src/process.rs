//! Hardening of the processes that hold tokens on a machine without containers
//! (`bca run --local`, `bca-runner run`).

/// Makes this process non-dumpable: other processes of the same user (an agent, say)
/// can no longer read its memory or `/proc/<pid>/environ`, where the tokens it was
/// started with stay even after they are removed from its environment. The flag does
/// not pass to programs it executes.
pub fn make_non_dumpable() {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Whether this process is dumpable (for tests of the above).
pub fn is_dumpable() -> bool {
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 }
}
