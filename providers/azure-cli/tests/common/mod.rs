//! Helpers shared by the integration tests: fake `az` scripts and process checks.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The directory with the real CLI outputs (`<case>.stdout`, `.stderr`, `.rc`).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A fake `az`: a `/bin/sh` script in its own temp directory that records how it was run
/// (argv, working directory, selected environment variables, its PID) and then runs `body`.
pub struct FakeAz {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl FakeAz {
    /// A fake whose behaviour after recording is the shell snippet `body`. In `body`, `$d` is
    /// the fake's directory (for pid files and the like).
    pub fn new(body: &str) -> Self {
        Self::named("az", body)
    }

    /// Like [`new`](Self::new) with another file name (e.g. to test `PATH` lookup by name).
    pub fn named(name: &str, body: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\n\
             d='{d}'\n\
             echo $$ > \"$d/pid\"\n\
             printf '%s\\n' \"$@\" > \"$d/argv\"\n\
             pwd > \"$d/cwd\"\n\
             printf '%s' \"${{AZURE_CORE_NO_COLOR-unset}}\" > \"$d/no_color\"\n\
             printf '%s' \"${{AZURE_CONFIG_DIR-unset}}\" > \"$d/config_dir\"\n\
             printf '%s' \"${{HOME-unset}}\" > \"$d/home\"\n\
             {body}\n"
        );
        std::fs::write(&path, script).expect("write fake az");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        FakeAz { dir, path }
    }

    /// A fake that reproduces a recorded real run byte for byte: stdout, stderr and exit status
    /// from `tests/data/<case>.*`.
    pub fn sample(case: &str) -> Self {
        let data = data_dir();
        let out = data.join(format!("{case}.stdout"));
        let err = data.join(format!("{case}.stderr"));
        let rc = std::fs::read_to_string(data.join(format!("{case}.rc"))).expect("rc file");
        Self::new(&format!(
            "cat '{}'\ncat '{}' >&2\nexit {}",
            out.display(),
            err.display(),
            rc.trim()
        ))
    }

    /// The script's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the script and its records.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the fake was started at all.
    pub fn ran(&self) -> bool {
        self.dir.path().join("argv").exists()
    }

    /// The arguments it received.
    pub fn argv(&self) -> Vec<String> {
        self.read("argv").lines().map(str::to_owned).collect()
    }

    /// A record file's content.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// A PID the fake wrote to `name` (waits up to 5 s for the file to appear).
    pub fn pid_file(&self, name: &str) -> i32 {
        let path = self.dir.path().join(name);
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            assert!(Instant::now() < until, "{name} never written");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `true` while `pid` can still run. A zombie whose parent is not this test process counts as
/// gone: it is dead and waiting for `init` to reap it, which some containers do slowly.
pub fn is_running(pid: i32) -> bool {
    let Some(p) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    if rustix::process::test_kill_process(p).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the `(comm)`: state, ppid, …
        Ok(stat) => {
            let after = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.trim_start())
                .unwrap_or("");
            let mut fields = after.split_whitespace();
            let state = fields.next().unwrap_or("");
            let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            !(state == "Z" && ppid != std::process::id() as i32)
        }
        // No procfs (macOS): trust kill(2).
        Err(_) => true,
    }
}

/// `true` when no process is left in process group `pgid`.
pub fn group_is_empty(pgid: i32) -> bool {
    rustix::process::Pid::from_raw(pgid).is_none_or(|p| rustix::process::test_kill_process_group(p).is_err())
}

/// Waits up to `within` for `pid` to be gone; returns whether it is.
pub async fn gone_within(pid: i32, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if !is_running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !is_running(pid)
}

/// A PATH for the fakes' own tools (`cat`, `sleep`, `head`).
pub const TOOLS_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
