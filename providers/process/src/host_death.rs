//! Linux: a developer CLI does not outlive the process that started it.
//!
//! The CLI runs in its own process group, so a terminal's `SIGINT`/`SIGHUP` does not reach it and
//! it is not killed with us by default: if this process dies without running any cleanup
//! (`SIGKILL`, a crash, an abort), `az` and whatever it started would be orphaned and keep running.
//! Two kernel mechanisms close that gap; nothing in this process has to run when it dies.
//!
//! 1. **The child itself**: `PR_SET_PDEATHSIG = SIGKILL` is set in the child between `fork` and
//!    `exec`, followed by the usual race check (if the parent already died, the child refuses to
//!    start). The setting survives `exec` (not a set-user-ID one).
//! 2. **Its descendants** (Python under the `az` script; a `sleep` a fake starts): a parent-death
//!    signal reaches only the direct child. So each run adds one guard process to the CLI's
//!    group: `/bin/sleep` (or `/usr/bin/sleep`), stopped with `SIGSTOP` at once, a child of this
//!    process. While we live, the group has a member whose parent is outside the group in the
//!    same session, so nothing happens. When we die, every member's parent is init (or a
//!    subreaper) or inside the group: the group becomes *orphaned* while holding a stopped
//!    process, and the kernel (POSIX job control) sends the whole group `SIGHUP` then `SIGCONT`.
//!    The guard is killed and reaped when the run ends, so a CLI that exits normally leaves its
//!    detached background work (such as `az`'s telemetry uploader) alone, as before.
//!
//! What is *not* guaranteed:
//!
//! * a descendant that ignores `SIGHUP` (started with `nohup`) or left the group (`setsid`)
//!   survives;
//! * when orphans are reparented to a subreaper in *our* session (rare: most subreapers, such
//!   as systemd or a container's init, are in another session) the group is not orphaned, so
//!   only the direct child is killed;
//! * without `/bin/sleep` or `/usr/bin/sleep` there is no guard, so only the direct child is
//!   killed;
//! * the parent-death signal follows the *thread* that spawned the child: if that thread exits
//!   while the CLI still runs, the CLI is killed early (the run then fails). Tokio's worker
//!   threads live as long as their runtime, and `credchain::blocking`'s runtime thread as long
//!   as the credential. The exception is a request driven by `Handle::block_on` on a
//!   `spawn_blocking` thread: with single-flight, the CLI is started by whichever caller polls
//!   first, and if that caller leaves (its deadline) and its pool thread then idles out (about
//!   10 s), a CLI still running for other callers is killed and they get the failure.
//!
//! Other Unix systems get neither mechanism; the group is still killed on timeout and drop.

use std::io;
use std::path::Path;
use std::process::Stdio;

use rustix::process::{Pid, Signal};
use tokio::process::{Child, Command};

/// Makes the child get `SIGKILL` when this process dies (see the module docs).
pub(crate) fn kill_child_with_host(cmd: &mut Command) {
    let host = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before `exec`. It makes two system calls
    // (`prctl`, `getppid`) and builds an `io::Error` from a raw errno, which does not allocate:
    // it takes no locks and allocates nothing, so it is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have died between `fork` and `prctl`; then no signal would come.
            if rustix::process::getppid() != Some(host) {
                return Err(io::Error::from(rustix::io::Errno::SRCH));
            }
            Ok(())
        });
    }
}

/// The stopped guard process in the CLI's group (see the module docs).
#[derive(Debug)]
pub(crate) struct GroupGuard {
    child: Child,
}

impl GroupGuard {
    /// Adds a stopped guard to process group `pgid`. `None` (and a debug log) when it cannot:
    /// then only the direct child is covered.
    pub(crate) fn join(pgid: u32) -> Option<GroupGuard> {
        let sleep = ["/bin/sleep", "/usr/bin/sleep"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())?;
        let pgid = i32::try_from(pgid).ok()?;
        let spawned = Command::new(sleep)
            .arg("2147483647")
            .current_dir("/")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(pgid)
            .kill_on_drop(true)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                // E.g. the CLI already exited and its group is gone: nothing left to guard.
                tracing::debug!(%error, "no process-group guard for the developer CLI");
                return None;
            }
        };
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .and_then(Pid::from_raw)?;
        // Dropping `child` on failure kills it (`kill_on_drop`).
        rustix::process::kill_process(pid, Signal::STOP).ok()?;
        Some(GroupGuard { child })
    }

    /// Kills and reaps the guard (the run is over).
    pub(crate) async fn release(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
