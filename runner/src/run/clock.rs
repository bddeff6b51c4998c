//! The pod's clock. Kubernetes counts a pod's `activeDeadlineSeconds` from the pod's
//! start and then kills every container at once, so an agent that used the whole
//! deadline would leave collect and publish no time to report it. The first step notes
//! when the pod started; the agent's step takes what the steps before it left, less a
//! reserve for the steps after it, and stops the agent (and its checks) there.
//!
//! The note is written by fork (into the state) and handed on by clone (into the
//! workspace, which the agent's container mounts); the agent's step reads it before any
//! agent process exists, so nothing the agent does can move it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::paths::Paths;
use super::RunError;

/// What collect and publish get of a pod's deadline: a tenth, at most ten minutes.
pub fn reserve(pod_deadline: Duration) -> Duration {
    (pod_deadline / 10).min(Duration::from_secs(600))
}

/// Notes the pod's start in the state: fork is the pod's first step and runs once per
/// pod (a reused state on a laptop gets a new start).
pub fn start(paths: &Paths) -> Result<(), RunError> {
    std::fs::create_dir_all(&paths.state)
        .map_err(|e| RunError::usage(format!("cannot create {}: {e}", paths.state.display())))?;
    write(&paths.pod_started(), now())
}

/// Hands the pod's start on to the agent's step (its container does not see the state).
pub fn hand_on(paths: &Paths) -> Result<(), RunError> {
    let started = read(&paths.pod_started()).unwrap_or_else(now);
    std::fs::create_dir_all(&paths.workspace)
        .map_err(|e| RunError::usage(format!("cannot create {}: {e}", paths.workspace.display())))?;
    write(&paths.agent_clock(), started)
}

/// Until when the agent and its checks may run: the pod's deadline from its start, less
/// the reserve. `None` when the contract sets no deadline. An error when nothing is left.
pub fn agent_budget(paths: &Paths, pod_deadline: Option<u64>) -> Result<Option<Budget>, RunError> {
    let Some(deadline) = pod_deadline.map(Duration::from_secs) else { return Ok(None) };
    let started = read(&paths.agent_clock()).unwrap_or_else(now);
    let used = Duration::from_secs(now().saturating_sub(started));
    let share = deadline.saturating_sub(reserve(deadline)).saturating_sub(used);
    if share.is_zero() {
        return Err(RunError::permanent(format!(
            "the pod has used {}s of its deadline of {}s before the agent could start; nothing was committed or \
             pushed (raise spec.job.deadline or --deadline)",
            used.as_secs(),
            deadline.as_secs()
        )));
    }
    let ends = Instant::now().checked_add(share).ok_or_else(|| {
        RunError::usage(format!("the run contract's pod deadline of {}s is beyond this clock", deadline.as_secs()))
    })?;
    Ok(Some(Budget { ends, share, deadline }))
}

/// The agent's share of the pod's deadline.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    ends: Instant,
    /// What it was when the agent's step began.
    pub share: Duration,
    /// The pod's whole deadline.
    pub deadline: Duration,
}

/// Less than this left, another agent attempt would only be stopped at once.
pub const ENOUGH_FOR_AN_ATTEMPT: Duration = Duration::from_secs(60);

impl Budget {
    pub fn remaining(&self) -> Duration {
        self.ends.saturating_duration_since(Instant::now())
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn read(path: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Replaces the file, never writing through whatever an earlier run left at its path.
fn write(path: &std::path::Path, seconds: u64) -> Result<(), RunError> {
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{seconds}\n").as_bytes()))
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_a_tenth_at_most_ten_minutes() {
        assert_eq!(reserve(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(reserve(Duration::from_secs(10_800)), Duration::from_secs(600));
    }

    fn paths(dir: &std::path::Path) -> Paths {
        Paths { workspace: dir.join("workspace"), state: dir.join("state"), ..Paths::default() }
    }

    #[test]
    fn the_agent_gets_what_the_earlier_steps_left() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        start(&paths).unwrap();
        // The pod started 100 s ago.
        write(&paths.pod_started(), now() - 100).unwrap();
        hand_on(&paths).unwrap();
        let budget = agent_budget(&paths, Some(1000)).unwrap().unwrap();
        // 1000 s, less the reserve of 100 s, less the 100 s used.
        assert!((799..=800).contains(&budget.share.as_secs()), "{budget:?}");
        assert!(agent_budget(&paths, None).unwrap().is_none());
        // A link left at the path is replaced, not written through.
        std::fs::remove_file(paths.agent_clock()).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), paths.agent_clock()).unwrap();
        hand_on(&paths).unwrap();
        assert!(!dir.path().join("elsewhere").exists());
        let err = agent_budget(&paths, Some(110)).unwrap_err();
        assert_eq!(err.kind, crate::run::error::Kind::Permanent);
        assert!(err.message.starts_with("the pod has used 100s of its deadline of 110s before the agent"), "{err}");
    }
}
