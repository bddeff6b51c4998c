//! Hardening of the processes that hold tokens on a machine without containers
//! (`bca run --local`, `bca-runner run`), and stopping a process group.
//!
//! The one place of the workspace allowed `unsafe` (`[workspace.lints]` denies it
//! elsewhere): plain calls into libc. `prctl` and the in-place scrub of the initial
//! environment exist on Linux only; elsewhere (macOS, where `bca` also runs) the
//! process stays dumpable and a removed variable may still be in the memory of its
//! initial environment, which `bca run --local` says before it runs anything.
#![allow(unsafe_code)]

/// Makes this process non-dumpable: other processes of the same user (an agent, say)
/// can no longer read its memory or `/proc/<pid>/environ`, where the tokens it was
/// started with stay even after they are removed from its environment. The flag does
/// not pass to programs it executes.
pub fn make_non_dumpable() {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers and touches no memory of ours.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Whether [`make_non_dumpable`] and [`scrub_env_var`] protect anything on this system.
pub const HARDENED: bool = cfg!(target_os = "linux");

/// Removes `name` from the environment, first overwriting its value where it lies, so
/// it is gone from `/proc/<pid>/environ` too (which shows the environment the process
/// was started with, whatever `unsetenv` did later; root can read it even from a
/// non-dumpable process).
///
/// Call it only while no other thread reads the environment.
pub fn scrub_env_var(name: &str) {
    #[cfg(target_os = "linux")]
    overwrite_initial_env(name);
    std::env::remove_var(name);
}

#[cfg(target_os = "linux")]
fn overwrite_initial_env(name: &str) {
    let prefix = format!("{name}=");
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings owned by
    // the C runtime; each is walked only up to its NUL, and overwritten in place, not
    // resized. No other thread touches the environment (the caller's promise).
    unsafe {
        extern "C" {
            static mut environ: *mut *mut libc::c_char;
        }
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let text = *entry;
            let len = libc::strlen(text);
            let bytes = std::slice::from_raw_parts_mut(text.cast::<u8>(), len);
            if bytes.starts_with(prefix.as_bytes()) {
                bytes[prefix.len()..].fill(b'x');
            }
            entry = entry.add(1);
        }
    }
}

/// Whether this process is dumpable (for tests of the above).
#[cfg(target_os = "linux")]
pub fn is_dumpable() -> bool {
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 }
}

/// When this process is its PID namespace's first (PID 1: a container's main process,
/// as each step is in its pod), ends every other process in it and reaps them, so
/// nothing the agent started (a `setsid` child escapes its process group) is alive when
/// the step writes what later steps trust. Elsewhere (a laptop) it touches nothing and
/// returns `false`: there the other processes are the user's.
///
/// `kill(-1)` signals every process of the namespace but PID 1 in one pass, so a process
/// that forks as fast as it can is caught with its children; the loop ends only when
/// `/proc` shows no other process. `Err` gives how many survived every round: the caller
/// must then trust nothing the step would write.
pub fn end_every_other_process() -> Result<bool, usize> {
    #[cfg(target_os = "linux")]
    {
        if std::process::id() != 1 {
            return Ok(false);
        }
        let others = || {
            std::fs::read_dir("/proc")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| *pid != 1)
                .count()
        };
        let mut any = false;
        for _ in 0..200 {
            if others() == 0 {
                return Ok(any);
            }
            any = true;
            // SAFETY: a signal to every other process of this PID namespace (this one is
            // its PID 1, which kill(-1) spares), then reaping whatever exited (PID 1
            // inherits every orphan).
            unsafe {
                libc::kill(-1, libc::SIGKILL);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            // SAFETY: as above.
            while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
        }
        match others() {
            0 => Ok(true),
            n => Err(n),
        }
    }
    #[cfg(not(target_os = "linux"))]
    Ok(false)
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn note_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Ctrl-C no longer ends this process, only notes it ([`interrupted`]): the children it
/// started (which get the default disposition back when they exec) end, and this process
/// goes on to remove what it wrote (key files, work directories) before it exits.
pub fn survive_interrupts() {
    // SAFETY: installs a handler that only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, note_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t);
        libc::signal(libc::SIGTERM, note_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }
}

/// Whether Ctrl-C (or SIGTERM) came since [`survive_interrupts`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Waits for `child`, started in a process group of its own, until it exits, `deadline`
/// passes or an interrupt is noted; then stops the whole group (what it started dies with it, and the
/// pipes close) and reaps the child. `None`: stopped at the deadline, with no verdict.
pub fn wait_group(
    child: &mut std::process::Child,
    deadline: Option<std::time::Duration>,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        // A child in a group of its own does not get the terminal's Ctrl-C: it is
        // stopped here once this process noted one (see `survive_interrupts`).
        if deadline.is_some_and(|d| started.elapsed() >= d) || interrupted() {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if let Ok(group) = i32::try_from(child.id()) {
        // SAFETY: a plain signal to the process group made for this child.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
    if status.is_none() {
        child.wait()?;
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_scrubbed_variable_is_gone_from_proc_environ() {
        // A child started with the variable, so it is in its initial environment block.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "process::tests::scrub_in_child", "--nocapture"])
            .env("BCA_SCRUB_TEST", "s3cr3t-value")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("environ after scrub: clean"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn scrub_in_child() {
        if std::env::var_os("BCA_SCRUB_TEST").is_none() {
            return;
        }
        scrub_env_var("BCA_SCRUB_TEST");
        let environ = std::fs::read("/proc/self/environ").unwrap();
        let clean = !environ.windows(12).any(|w| w == b"s3cr3t-value");
        println!("environ after scrub: {}", if clean { "clean" } else { "still there" });
        assert!(std::env::var_os("BCA_SCRUB_TEST").is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn becomes_non_dumpable() {
        assert!(is_dumpable());
        make_non_dumpable();
        assert!(!is_dumpable());
    }
}
