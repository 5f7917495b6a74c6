//! Fake `azd` scripts for the integration tests, and process checks.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A PATH for the fakes' own tools (`cat`, `sleep`, `date`).
pub const TOOLS_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A fake `azd`: a `/bin/sh` script in its own temp directory that records its argv, working
/// directory, `NO_COLOR`, `TZ`, its UTC offset (`date +%z`) and what stdin held, then runs `body`
/// (where `$d` is the fake's directory).
pub struct FakeAzd {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl FakeAzd {
    pub fn new(body: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("azd");
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\n\
             d='{d}'\n\
             echo $$ > \"$d/pid\"\n\
             printf '%s\\n' \"$@\" > \"$d/argv\"\n\
             pwd > \"$d/cwd\"\n\
             printf '%s' \"${{NO_COLOR-unset}}\" > \"$d/no_color\"\n\
             printf '%s' \"${{TZ-unset}}\" > \"$d/tz\"\n\
             date +%z > \"$d/utc_offset\"\n\
             cat > \"$d/stdin\"\n\
             {body}\n"
        );
        std::fs::write(&path, script).expect("write fake azd");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        FakeAzd { dir, path }
    }

    /// A fake replaying `tests/data/<case>.{stdout,stderr,rc}` byte for byte.
    pub fn sample(case: &str) -> Self {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let file = |ext: &str| data.join(format!("{case}.{ext}"));
        let rc = std::fs::read_to_string(file("rc")).expect("rc file");
        Self::new(&format!(
            "cat '{}'\ncat '{}' >&2\nexit {}",
            file("stdout").display(),
            file("stderr").display(),
            rc.trim()
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn ran(&self) -> bool {
        self.dir.path().join("argv").exists()
    }

    pub fn argv(&self) -> Vec<String> {
        self.read("argv").lines().map(str::to_owned).collect()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// A PID the fake wrote to `name` (waits up to 5 s for it).
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

/// `true` while `pid` exists and is not a zombie left for another parent to reap.
pub fn is_running(pid: i32) -> bool {
    let Some(p) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    if rustix::process::test_kill_process(p).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest.trim_start());
            let mut fields = after.split_whitespace();
            let state = fields.next().unwrap_or("");
            let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            !(state == "Z" && ppid != std::process::id() as i32)
        }
        Err(_) => true,
    }
}

/// Polls (bounded) until `pid` is gone; returns whether it is.
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
