//! Running a developer CLI once: no shell, stdin on nothing, its own process group, bounded
//! output, a hard time limit, and nothing left behind.
//!
//! # What "nothing left behind" means
//!
//! The real `az` is a script that starts Python, which may start more processes. On Unix the child
//! is made the leader of a new process group, so everything it starts (unless it deliberately
//! leaves the group) can be signalled at once:
//!
//! * **This process dies** (Linux; any cause, even `SIGKILL`): see the `host_death` module. The
//!   child gets `SIGKILL` from the kernel; its group gets `SIGHUP`+`SIGCONT`.
//!
//! * **Time limit reached**: the whole group gets `SIGKILL`, then the child is reaped.
//! * **Caller's future dropped** (a `select!` lost, a task aborted): the group gets `SIGKILL` in
//!   `Drop`, and Tokio reaps the child in the background (`kill_on_drop`).
//! * **Child exited but something it started still holds stdout/stderr open**: we do not wait for
//!   end-of-file forever. After the child exits we keep reading for at most [`PIPE_GRACE`], then
//!   stop, and `SIGKILL` whatever is left of the group.
//! * **Child exited and the pipes closed**: background work the CLI deliberately detached from
//!   our pipes (its telemetry uploader runs with stdio on `/dev/null`) is left alone.
//!
//! On Windows the child gets `CREATE_NEW_PROCESS_GROUP`/`CREATE_NO_WINDOW` and only the child
//! itself is killed; processes it started may outlive it.
//!
//! # Bounded output
//!
//! At most [`STDOUT_LIMIT`] bytes of stdout are kept; more than that is treated as a failure and
//! the process is killed at once (a token response is a few kilobytes). At most [`STDERR_LIMIT`]
//! bytes of stderr are kept; the rest is read and discarded so the child never blocks on a full
//! pipe.

use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use credchain_core::Env;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use zeroize::Zeroizing;

/// Most stdout bytes kept before the run is abandoned.
pub const STDOUT_LIMIT: usize = 1024 * 1024;
/// Most stderr bytes kept (the rest is drained and dropped).
pub const STDERR_LIMIT: usize = 64 * 1024;
/// How long to keep reading the pipes after the child has exited.
pub const PIPE_GRACE: Duration = Duration::from_millis(100);

/// One run of a program. [`run`] also sets `NO_COLOR=1` in the child's environment.
///
/// `Debug` shows the arguments and extra variables: pass nothing secret in them.
#[derive(Debug)]
pub struct Invocation<'a> {
    /// The executable, run directly (never through a shell).
    pub program: &'a Path,
    /// Its arguments, each passed as one argument.
    pub args: &'a [String],
    /// Its working directory (see [`default_working_dir`](crate::default_working_dir)).
    pub cwd: &'a Path,
    /// `Env::Process`: the child inherits the process environment. `Env::Map`: the child gets
    /// exactly that map.
    pub env: &'a Env,
    /// Extra variables set on top of `env`.
    pub extra_env: &'a [(&'a str, &'a str)],
    /// When to give up (see [`deadline_after`](crate::deadline_after)).
    pub deadline: Instant,
}

/// What a finished run produced.
pub struct Finished {
    /// How the program ended.
    pub status: ExitStatus,
    /// At most [`STDOUT_LIMIT`] bytes; zeroized on drop (on success it holds a token).
    pub stdout: Zeroizing<Vec<u8>>,
    /// At most [`STDERR_LIMIT`] bytes.
    pub stderr: Vec<u8>,
    /// `true` when stderr was longer than [`STDERR_LIMIT`] and was cut.
    pub stderr_truncated: bool,
}

impl std::fmt::Debug for Finished {
    /// Sizes only: stdout may hold a token and stderr may echo one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("status", &self.status)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .field("stderr_truncated", &self.stderr_truncated)
            .finish()
    }
}

/// Why a run did not finish normally.
#[derive(Debug)]
pub enum RunError {
    /// The program could not be started.
    Spawn(io::Error),
    /// The deadline passed; the process group was killed.
    TimedOut,
    /// More than [`STDOUT_LIMIT`] bytes on stdout; the process group was killed.
    StdoutTooLarge,
    /// Waiting for the child failed (should not happen).
    Wait(io::Error),
}

/// A spawned child whose process group is killed when this is dropped, unless it was reaped.
struct Running {
    /// Killed and reaped when the run ends (see `host_death.rs`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    group_guard: Option<crate::host_death::GroupGuard>,
    child: Child,
    pid: Option<u32>,
    reaped: bool,
}

impl Running {
    fn kill_group(&self) {
        if let Some(pid) = self.pid {
            kill_tree(pid);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Kill the group before `child` is dropped: while the leader is unreaped its PID (and so
        // the group ID) cannot be reused, so the signal cannot reach an unrelated process.
        if !self.reaped {
            self.kill_group();
            // `kill_on_drop` then kills the child itself and Tokio reaps it in the background.
        }
    }
}

#[cfg(unix)]
fn kill_tree(pid: u32) {
    let Some(pgid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return;
    };
    // ESRCH (nothing left) is the normal case after a clean exit.
    let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
}

#[cfg(not(unix))]
fn kill_tree(_pid: u32) {
    // Without process groups the direct child is killed through `Child::start_kill`.
}

/// Spawns `cmd`, retrying briefly while the executable is "text file busy" (`ETXTBSY`).
///
/// That happens when `az` was just written (an update in progress, or a test's fake) and another
/// thread of this process forked while the file was still open for writing: the forked child
/// holds the descriptor until it execs. It clears within milliseconds.
async fn spawn_retrying_busy(cmd: &mut Command, deadline: Instant) -> Result<Child, RunError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < ATTEMPTS => {
                let pause = std::time::Duration::from_millis(10 * u64::from(attempt));
                if std::time::Instant::now() + pause >= deadline {
                    return Err(RunError::Spawn(e));
                }
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            result => return result.map_err(RunError::Spawn),
        }
    }
}

/// Runs `inv` to completion or until its deadline; see the [module docs](self) for what is
/// guaranteed about the processes it starts.
///
/// # Errors
///
/// [`RunError`]: the program could not start, ran past the deadline, or printed too much.
pub async fn run(inv: Invocation<'_>) -> Result<Finished, RunError> {
    let mut cmd = Command::new(inv.program);
    cmd.args(inv.args)
        .current_dir(inv.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Env::Map(vars) = inv.env {
        cmd.env_clear();
        cmd.envs(vars.iter());
    }
    cmd.env("NO_COLOR", "1");
    for (name, value) in inv.extra_env {
        cmd.env(name, value);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    crate::host_death::kill_child_with_host(&mut cmd);
    #[cfg(windows)]
    {
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
    }

    let mut child = spawn_retrying_busy(&mut cmd, inv.deadline).await?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let pid = child.id();
    let mut running = Running {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        group_guard: pid.and_then(crate::host_death::GroupGuard::join),
        child,
        pid,
        reaped: false,
    };

    let deadline = tokio::time::Instant::from_std(inv.deadline);
    let outcome = tokio::time::timeout_at(deadline, collect(&mut running.child, stdout, stderr)).await;
    // The run is over one way or another: the guard goes first (killed and reaped, so the group
    // it was in empties as soon as the CLI's own processes are gone).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(guard) = running.group_guard.take() {
        guard.release().await;
    }
    match outcome {
        Ok(Ok((status, stdout, stderr, pipes_closed))) => {
            running.reaped = true;
            if !pipes_closed {
                // Something the child started still holds our pipes: it goes with the group.
                running.kill_group();
            }
            Ok(Finished {
                status,
                stdout: stdout.bytes,
                stderr: stderr.bytes.to_vec(),
                stderr_truncated: stderr.truncated,
            })
        }
        Ok(Err(error)) => {
            running.kill_group();
            let _ = running.child.start_kill();
            let reaped = running.child.wait().await.is_ok();
            running.reaped = reaped;
            Err(error)
        }
        Err(_elapsed) => {
            running.kill_group();
            let _ = running.child.start_kill();
            // SIGKILL cannot be caught, so this returns promptly.
            running.reaped = running.child.wait().await.is_ok();
            Err(RunError::TimedOut)
        }
    }
}

struct Captured {
    bytes: Zeroizing<Vec<u8>>,
    truncated: bool,
}

/// Reads both pipes while waiting for the child; gives the pipes [`PIPE_GRACE`] after the exit.
async fn collect(
    child: &mut Child,
    stdout: Option<impl AsyncRead + Unpin>,
    stderr: Option<impl AsyncRead + Unpin>,
) -> Result<(ExitStatus, Captured, Captured, bool), RunError> {
    let mut out_buf = Captured {
        bytes: Zeroizing::new(Vec::new()),
        truncated: false,
    };
    let mut err_buf = Captured {
        bytes: Zeroizing::new(Vec::new()),
        truncated: false,
    };
    // The readers borrow the buffers; they are dropped at the end of this block.
    let (status, pipes_closed) = {
        let out_fut = read_limited(stdout, &mut out_buf, STDOUT_LIMIT, true);
        let err_fut = read_limited(stderr, &mut err_buf, STDERR_LIMIT, false);
        tokio::pin!(out_fut, err_fut);
        let mut out_done = false;
        let mut err_done = false;
        let status = loop {
            tokio::select! {
                r = &mut out_fut, if !out_done => {
                    out_done = true;
                    if r.is_err() {
                        return Err(RunError::StdoutTooLarge);
                    }
                }
                _ = &mut err_fut, if !err_done => err_done = true,
                s = child.wait() => break s.map_err(RunError::Wait)?,
            }
        };
        // The child has exited. Its output is normally complete already; a descendant that kept the
        // pipes open must not make us wait for end-of-file.
        let drain = async {
            if !out_done && (&mut out_fut).await.is_err() {
                return Err(RunError::StdoutTooLarge);
            }
            if !err_done {
                let _ = (&mut err_fut).await;
            }
            Ok(())
        };
        let closed = match tokio::time::timeout(PIPE_GRACE, drain).await {
            Ok(result) => {
                result?;
                true
            }
            Err(_) => false,
        };
        (status, closed)
    };
    Ok((status, out_buf, err_buf, pipes_closed))
}

/// Appends `pipe` to `buf`, keeping at most `limit` bytes. Returns `Err(())` when `fail_on_limit`
/// and the limit was passed; otherwise drains and drops the excess. Read errors end the read.
async fn read_limited(
    pipe: Option<impl AsyncRead + Unpin>,
    buf: &mut Captured,
    limit: usize,
    fail_on_limit: bool,
) -> Result<(), ()> {
    let Some(mut pipe) = pipe else {
        return Ok(());
    };
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = match pipe.read(&mut chunk[..]).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => n,
        };
        let room = limit.saturating_sub(buf.bytes.len());
        if n > room {
            buf.truncated = true;
            if fail_on_limit {
                return Err(());
            }
        }
        let keep = n.min(room);
        if keep > 0 {
            // Grow by hand so a reallocation never leaves an unzeroized copy behind.
            if buf.bytes.capacity() - buf.bytes.len() < keep {
                let mut bigger = Zeroizing::new(Vec::with_capacity(
                    (buf.bytes.len() + keep).max(buf.bytes.capacity() * 2).min(limit),
                ));
                bigger.extend_from_slice(&buf.bytes);
                buf.bytes = bigger;
            }
            buf.bytes.extend_from_slice(&chunk[..keep]);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("prog");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    async fn run_script(body: &str, within: Duration) -> Result<Finished, RunError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(dir.path(), body);
        run(Invocation {
            program: &program,
            args: &[],
            cwd: Path::new("/"),
            env: &Env::Process,
            extra_env: &[],
            deadline: Instant::now() + within,
        })
        .await
    }

    #[tokio::test]
    async fn captures_both_streams_and_status() {
        let done = run_script("printf out; printf err >&2; exit 3", Duration::from_secs(10))
            .await
            .expect("runs");
        assert_eq!(&done.stdout[..], b"out");
        assert_eq!(done.stderr, b"err");
        assert_eq!(done.status.code(), Some(3));
    }

    #[tokio::test]
    async fn stderr_is_capped_but_drained() {
        // 200 KiB of stderr: the child must not block on a full pipe, and we keep only the limit.
        let done = run_script(
            "head -c 204800 /dev/zero | tr '\\0' e >&2; printf '{}'",
            Duration::from_secs(10),
        )
        .await
        .expect("runs");
        assert_eq!(done.stderr.len(), STDERR_LIMIT);
        assert!(done.stderr_truncated);
        assert_eq!(&done.stdout[..], b"{}");
    }

    #[tokio::test]
    async fn oversized_stdout_is_an_error() {
        let err = run_script("head -c 3000000 /dev/zero", Duration::from_secs(10))
            .await
            .expect_err("too large");
        assert!(matches!(err, RunError::StdoutTooLarge), "{err:?}");
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let err = run(Invocation {
            program: Path::new("/nonexistent/az"),
            args: &[],
            cwd: Path::new("/"),
            env: &Env::Process,
            extra_env: &[],
            deadline: Instant::now() + Duration::from_secs(5),
        })
        .await
        .expect_err("cannot spawn");
        assert!(
            matches!(err, RunError::Spawn(ref e) if e.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn map_env_replaces_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(dir.path(), "env");
        let env = Env::from_pairs([("ONLY_THIS", "1")]);
        let done = run(Invocation {
            program: &program,
            args: &[],
            cwd: Path::new("/"),
            env: &env,
            extra_env: &[("EXTRA", "yes")],
            deadline: Instant::now() + Duration::from_secs(5),
        })
        .await
        .expect("runs");
        let text = String::from_utf8_lossy(&done.stdout);
        assert!(
            text.contains("ONLY_THIS=1") && text.contains("EXTRA=yes"),
            "{text}"
        );
        assert!(!text.contains("HOME="), "{text}");
    }

    /// Processes (not zombies) whose environment holds `marker`.
    #[cfg(target_os = "linux")]
    fn processes_with(marker: &str) -> Vec<i32> {
        let needle = marker.as_bytes();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')
                            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
                    })
                    .unwrap_or(true);
                !zombie
                    && std::fs::read(format!("/proc/{pid}/environ"))
                        .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle))
            })
            .collect()
    }

    /// The "host" of [`a_cli_and_its_children_die_with_a_sigkilled_host`]: runs the hanging
    /// script named by `CREDCHAIN_HOST_SCRIPT` until it is killed. Ignored when run directly.
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore = "the host process of a_cli_and_its_children_die_with_a_sigkilled_host"]
    fn host_runs_a_hanging_cli() {
        let (Some(program), Some(marker)) = (
            std::env::var_os("CREDCHAIN_HOST_SCRIPT"),
            std::env::var("CREDCHAIN_HOST_MARKER").ok(),
        ) else {
            return;
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let marker_var = [("CREDCHAIN_TEST_MARKER", marker.as_str())];
        let _ = runtime.block_on(run(Invocation {
            program: Path::new(&program),
            args: &[],
            cwd: Path::new("/"),
            env: &Env::from_pairs([("PATH", "/usr/bin:/bin")]),
            extra_env: &marker_var,
            deadline: Instant::now() + Duration::from_secs(600),
        }));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_cli_and_its_children_die_with_a_sigkilled_host() {
        // A host (this test binary, running `host_runs_a_hanging_cli`) runs a CLI that starts a
        // grandchild and waits; the host is SIGKILLed, so none of its own cleanup runs. The CLI
        // (parent-death signal) and the grandchild (orphaned process group with the stopped
        // guard) must both go. Processes are found by a marker only they carry.
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(
            dir.path(),
            &format!(
                "echo $$ > '{d}/child'\nsleep 300 &\necho $! > '{d}/grandchild'\nwait",
                d = dir.path().display()
            ),
        );
        let marker = format!("credchain-host-death-{}-{:?}", std::process::id(), Instant::now());
        let mut host = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "run::tests::host_runs_a_hanging_cli",
                "--ignored",
                "--test-threads=1",
            ])
            .env("CREDCHAIN_HOST_SCRIPT", &program)
            .env("CREDCHAIN_HOST_MARKER", &marker)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn host");
        // Bounded waits against a hang, not timing goals.
        let wait_until = |what: &str, done: &dyn Fn() -> bool| {
            let until = Instant::now() + Duration::from_secs(30);
            while !done() {
                assert!(Instant::now() < until, "{what}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_until("the CLI never started its grandchild", &|| {
            std::fs::read_to_string(dir.path().join("grandchild")).is_ok_and(|t| t.ends_with('\n'))
        });
        wait_until("the marked processes never appeared", &|| {
            processes_with(&marker).len() >= 2
        });
        host.kill().expect("SIGKILL the host");
        host.wait().expect("reap the host");
        let until = Instant::now() + Duration::from_secs(30);
        while !processes_with(&marker).is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left = processes_with(&marker);
        for pid in &left {
            if let Some(p) = rustix::process::Pid::from_raw(*pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        assert!(left.is_empty(), "outlived the host: {left:?}");
    }
}
