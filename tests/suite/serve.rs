//! `credchain serve`: the built binary as a local App Service managed identity endpoint, backed by
//! a fake `az`, asked by raw HTTP clients, Python azure-identity and the official Rust
//! `azure_identity::ManagedIdentityCredential`. Also the hermetic host helpers that
//! `exec_credential` and `token_cache` share.
#![cfg(all(unix, feature = "cli"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The token the fake `az` hands out.
pub(crate) const AZ_TOKEN: &str = "fake-az-access-token-0123456789";
const ARM: &str = "https://management.azure.com";

/// A hermetic host: an empty HOME and a fake `az` in `bin/` that appends one line per
/// `get-access-token` call to `az.log`, sleeps, and prints a token.
pub(crate) struct Host {
    dir: tempfile::TempDir,
    pub(crate) env: Vec<(String, String)>,
}

impl Host {
    /// A host whose `az` answers after `delay` seconds (a shell `sleep` argument).
    pub(crate) fn with_az(delay: &str) -> Self {
        let host = Self::empty();
        host.write_az(delay, AZ_TOKEN);
        host
    }

    /// A host with no `az`.
    pub(crate) fn empty() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        std::fs::create_dir_all(dir.path().join("bin")).expect("bin");
        // IMDS is a refused loopback port: the default chain's managed identity probe must never
        // leave this machine (a real 169.254.169.254 may answer, or be a network others watch).
        let imds = credchain_fake_entra::refused_url().expect("a refused port");
        Host {
            dir,
            env: vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), imds)],
        }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// (Re)writes the fake `az`: it answers `get-access-token` with `token` after `delay`.
    pub(crate) fn write_az(&self, delay: &str, token: &str) {
        self.write_az_expiring(delay, token, 4070908800);
    }

    /// [`write_az`](Self::write_az) with a token expiring at `expires_on` (Unix seconds).
    pub(crate) fn write_az_expiring(&self, delay: &str, token: &str, expires_on: i64) {
        let script = format!(
            "#!/bin/sh\n\
             if [ \"$1\" = version ]; then echo '{{\"azure-cli\": \"2.91.0\", \"extensions\": {{}}}}'; exit 0; fi\n\
             echo \"$@\" >> '{root}/az.log'\n\
             sleep {delay}\n\
             printf '%s' '{{\"accessToken\": \"{token}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": {expires_on}, \"subscription\": \"0b1f6471-1bf0-4dda-aec3-cb9272f09590\", \"tenant\": \"72f988bf-86f1-41af-91ab-2d7cd011db47\", \"tokenType\": \"Bearer\"}}'\n",
            root = self.root().display(),
        );
        let az = self.root().join("bin/az");
        let tmp = self.root().join("bin/az.tmp");
        std::fs::write(&tmp, script).expect("write az");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::rename(tmp, az).expect("rename az");
    }

    /// A fake `az` that never answers: it starts a `sleep` child, records both PIDs, and waits.
    pub(crate) fn write_hanging_az(&self) {
        let script = format!(
            "#!/bin/sh\n\
             if [ \"$1\" = version ]; then echo '{{\"azure-cli\": \"2.91.0\"}}'; exit 0; fi\n\
             sleep 300 &\n\
             echo $! > '{root}/sleep.pid'\n\
             echo $$ > '{root}/az.pid.tmp' && mv '{root}/az.pid.tmp' '{root}/az.pid'\n\
             wait\n",
            root = self.root().display(),
        );
        let az = self.root().join("bin/az");
        std::fs::write(&az, script).expect("write az");
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// How many `get-access-token` calls the fake `az` received.
    pub(crate) fn az_runs(&self) -> usize {
        std::fs::read_to_string(self.root().join("az.log"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// The built `credchain` with `args`, in this host's clean environment.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_credchain"));
        let home = self.home();
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.root().join("bin").display()),
            )
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/no-bus", self.root().display()),
            )
            .env("TZ", "UTC")
            .args(args);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd
    }
}

/// Polls `done` every 20 ms for at most 30 s; `false` if it never held.
pub(crate) fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < give_up {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Whether process `pid` is alive (not a zombie) and its command line contains `marker`.
pub(crate) fn alive(pid: u32, marker: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    !matches!(state, None | Some('Z' | 'X')) && String::from_utf8_lossy(&cmdline).contains(marker)
}

/// A running `credchain serve`; killed when dropped.
struct Served {
    child: Child,
    endpoint: String,
    header: String,
    addr: SocketAddr,
    stderr: PathBuf,
    /// Whatever serve writes to stdout after its two lines (read until it exits).
    rest_of_stdout: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `credchain serve ARGS` and reads its two stdout lines.
    fn start(host: &Host, args: &[&str]) -> Served {
        let stderr = host.root().join("serve.stderr");
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        let mut child = host
            .command(&all)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut endpoint = String::new();
        let mut header = String::new();
        out.read_line(&mut endpoint).expect("line 1");
        out.read_line(&mut header).expect("line 2");
        let endpoint = endpoint
            .trim_end()
            .strip_prefix("IDENTITY_ENDPOINT=")
            .unwrap_or_else(|| panic!("first line: {endpoint:?}; stderr: {}", read(&stderr)))
            .to_owned();
        let header = header
            .trim_end()
            .strip_prefix("IDENTITY_HEADER=")
            .unwrap_or_else(|| panic!("second line: {header:?}"))
            .to_owned();
        let rest_of_stdout = Some(std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = out.read_to_string(&mut rest);
            rest
        }));
        let addr = endpoint
            .strip_prefix("http://")
            .and_then(|s| s.strip_suffix("/msi/token"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("endpoint {endpoint}"));
        Served {
            child,
            endpoint,
            header,
            addr,
            stderr,
            rest_of_stdout,
        }
    }

    /// Stops serve with SIGTERM and returns its exit code and what it wrote to stdout after
    /// the two lines.
    fn terminate(&mut self) -> (Option<i32>, String) {
        self.signal("TERM")
    }

    /// Sends `signal` (`TERM`, `INT`, …), waits for serve to exit, and returns its exit code
    /// and what it wrote to stdout after the two lines.
    fn signal(&mut self, signal: &str) -> (Option<i32>, String) {
        let sent = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = self.child.wait().expect("wait");
        let rest = self
            .rest_of_stdout
            .take()
            .map(|t| t.join().expect("reader"))
            .unwrap_or_default();
        (status.code(), rest)
    }

    /// A token request for `resource` with `header` (none when `None`).
    fn get(&self, resource: &str, header: Option<&str>) -> (u16, String) {
        let header_line = header
            .map(|h| format!("X-IDENTITY-HEADER: {h}\r\n"))
            .unwrap_or_default();
        http(
            self.addr,
            &format!(
                "GET /msi/token?api-version=2019-08-01&resource={resource} HTTP/1.1\r\nHost: localhost\r\n{header_line}Connection: close\r\n\r\n"
            ),
        )
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Sends `request` raw and returns the status and body.
fn http(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serves_a_token_in_the_app_service_shape() {
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    assert!(
        served.endpoint.starts_with("http://127.0.0.1:"),
        "{}",
        served.endpoint
    );
    assert!(served.header.len() >= 22, "≥128 bits: {}", served.header);
    let (status, body) = served.get(ARM, Some(&served.header));
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["access_token"], AZ_TOKEN);
    assert_eq!(json["expires_on"], "4070908800");
    assert_eq!(json["resource"], ARM);
    assert_eq!(json["token_type"], "Bearer");
    // The az call asked for the resource's .default scope.
    assert_eq!(host.az_runs(), 1);
    let log = read(&host.root().join("az.log"));
    assert!(log.contains("https://management.azure.com"), "{log}");
    // Logs go to stderr, never holding the token or the header secret.
    let stderr = read(&served.stderr);
    assert!(stderr.contains("token served"), "{stderr}");
    assert!(
        !stderr.contains(AZ_TOKEN) && !stderr.contains(&served.header),
        "{stderr}"
    );
    // Nothing but the two lines ever reaches stdout.
    let mut served = served;
    let (code, rest) = served.terminate();
    assert_eq!(code, Some(143));
    assert_eq!(rest, "");
}

/// A shell that sourced an earlier serve's output has `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` set.
/// Serve's own chain ignores them (they are what serve hands out): it neither asks the stale
/// endpoint nor a live serve (itself), and shares the `az` sign-in as usual.
#[test]
fn serve_ignores_the_app_service_variables_it_hands_out() {
    let mut host = Host::with_az("0");
    let stale = credchain_fake_entra::refused_url().expect("a refused port");
    host.env
        .push(("IDENTITY_ENDPOINT".to_owned(), format!("{stale}/msi/token")));
    host.env
        .push(("IDENTITY_HEADER".to_owned(), "from-an-earlier-serve".to_owned()));
    let served = Served::start(&host, &[]);
    let (status, body) = served.get(ARM, Some(&served.header));
    assert_eq!(status, 200, "{body}");
    assert_eq!(host.az_runs(), 1);
}

#[test]
fn a_fresh_secret_per_start() {
    let host = Host::with_az("0");
    let a = Served::start(&host, &[]);
    let b = Served::start(&host, &[]);
    assert_ne!(a.header, b.header);
    assert_ne!(a.endpoint, b.endpoint);
}

#[test]
fn wrong_or_missing_header_gets_no_token() {
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    let (status, body) = served.get(ARM, None);
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains(AZ_TOKEN));
    let mut wrong = served.header.clone();
    wrong.pop();
    wrong.push('x');
    for header in [wrong.as_str(), "", &served.header[..10]] {
        let (status, body) = served.get(ARM, Some(header));
        assert_eq!(status, 403, "{body}");
        assert!(!body.contains(AZ_TOKEN), "{body}");
    }
    assert_eq!(host.az_runs(), 0, "a refused request never reaches the chain");
    let stderr = read(&served.stderr);
    assert!(!stderr.contains(&served.header), "{stderr}");
}

#[test]
fn header_file_sets_the_secret_without_argv() {
    let host = Host::with_az("0");
    let file = host.root().join("identity-header");
    std::fs::write(&file, "my-shared-secret-0123456789abcdef\n").expect("write");
    let served = Served::start(&host, &["--header-file", file.to_str().expect("utf-8")]);
    assert_eq!(served.header, "my-shared-secret-0123456789abcdef");
    assert_eq!(served.get(ARM, Some("my-shared-secret-0123456789abcdef")).0, 200);
    // A too-short secret is refused before listening.
    std::fs::write(&file, "short").expect("write");
    let out = host
        .command(&["serve", "--header-file", file.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("too short") && !stderr.contains("short\n"),
        "{stderr}"
    );
}

#[test]
fn only_get_is_served() {
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let (status, body) = http(
            served.addr,
            &format!(
                "{method} /msi/token?api-version=2019-08-01&resource={ARM} HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                served.header
            ),
        );
        assert_eq!(status, 405, "{method}: {body}");
    }
    // A GET with a body is refused too.
    let (status, _) = http(
        served.addr,
        &format!(
            "GET /msi/token?api-version=2019-08-01&resource={ARM} HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: {}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
            served.header
        ),
    );
    assert_eq!(status, 400);
    assert_eq!(host.az_runs(), 0);
}

#[test]
fn oversized_requests_are_refused() {
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    let big = "a".repeat(64 * 1024);
    let (status, _) = http(
        served.addr,
        &format!(
            "GET /msi/token?api-version=2019-08-01&resource={ARM} HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: {}\r\nX-Padding: {big}\r\nConnection: close\r\n\r\n",
            served.header
        ),
    );
    assert_eq!(status, 431);
    assert_eq!(host.az_runs(), 0);
}

#[test]
fn a_stalled_client_does_not_stall_others() {
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    // Several clients that send half a request head and then nothing.
    let stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(served.addr).expect("connect");
            s.write_all(b"GET /msi/token?api-version=2019-08-01 HTTP/1.1\r\nHost: x\r\n")
                .expect("send");
            s
        })
        .collect();
    let (status, body) = served.get(ARM, Some(&served.header));
    assert_eq!(status, 200, "{body}");
    drop(stalled);
}

#[test]
fn hundred_concurrent_clients_cause_one_az_run() {
    let host = Host::with_az("1");
    let served = Served::start(&host, &[]);
    let results: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|_| scope.spawn(|| served.get(ARM, Some(&served.header))))
            .collect();
        handles.into_iter().map(|h| h.join().expect("join")).collect()
    });
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert!(body.contains(AZ_TOKEN), "{body}");
    }
    assert_eq!(host.az_runs(), 1, "100 clients share one az run");
}

#[test]
fn chain_failure_is_500_with_the_explanation_and_no_token() {
    let host = Host::empty();
    let served = Served::start(&host, &[]);
    let (status, body) = served.get(ARM, Some(&served.header));
    assert_eq!(status, 500, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["statusCode"], 500);
    let message = json["message"].as_str().expect("message");
    assert!(message.contains("AzureCliCredential"), "{message}");
    assert!(json.get("access_token").is_none());
}

#[test]
fn non_loopback_listen_needs_allow_remote() {
    let host = Host::with_az("0");
    let out = host
        .command(&["serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"", "nothing listens, nothing is printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");

    let served = Served::start(&host, &["--listen", "0.0.0.0:0", "--allow-remote"]);
    assert!(
        served.endpoint.starts_with("http://0.0.0.0:"),
        "{}",
        served.endpoint
    );
    assert!(
        eventually(|| read(&served.stderr).contains("warning: listening on 0.0.0.0")),
        "{}",
        read(&served.stderr)
    );
    // Reachable (here through loopback) with the secret.
    let local = SocketAddr::from(([127, 0, 0, 1], served.addr.port()));
    let (status, _) = http(
        local,
        &format!(
            "GET /msi/token?api-version=2019-08-01&resource={ARM} HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: {}\r\nConnection: close\r\n\r\n",
            served.header
        ),
    );
    assert_eq!(status, 200);
}

#[test]
fn sigterm_stops_serve_and_the_az_it_started() {
    stop_signal_stops_serve_and_its_az("TERM", 143);
}

#[test]
fn sigint_stops_serve_and_the_az_it_started() {
    stop_signal_stops_serve_and_its_az("INT", 130);
}

/// `signal` stops a serve whose client waits on a hanging `az`: serve exits with `code`, and
/// neither `az` nor its child is left running.
fn stop_signal_stops_serve_and_its_az(signal: &str, code: i32) {
    let host = Host::empty();
    host.write_hanging_az();
    let mut served = Served::start(&host, &[]);
    let addr = served.addr;
    let header = served.header.clone();
    // A client whose request is waiting on az.
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        let _ = stream.write_all(
            format!(
                "GET /msi/token?api-version=2019-08-01&resource={ARM} HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: {header}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        rest
    });
    let pid_of = |file: &str| -> Option<u32> {
        std::fs::read_to_string(host.root().join(file))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    };
    assert!(eventually(|| pid_of("az.pid").is_some()), "az never started");
    let az = pid_of("az.pid").expect("az");
    let sleep = pid_of("sleep.pid").expect("sleep");
    let marker = host.root().join("bin/az").display().to_string();
    assert!(alive(az, &marker));
    let (exit, rest) = served.signal(signal);
    assert_eq!(exit, Some(code));
    assert_eq!(rest, "");
    assert!(
        eventually(|| !alive(az, &marker) && !alive(sleep, "sleep")),
        "az or its child outlived serve"
    );
    let answer = client.join().expect("client");
    assert!(!String::from_utf8_lossy(&answer).contains(AZ_TOKEN));
    assert!(read(&served.stderr).contains(&format!("interrupted by SIG{signal}")));
}

/// Python azure-identity's `ManagedIdentityCredential` (App Service source) gets a token from
/// `credchain serve`. Runs when `CREDCHAIN_PYTHON_AZURE_IDENTITY` names a python with
/// azure-identity (`.ci/install-azure-identity-python.sh` prints one).
#[test]
fn python_azure_identity_gets_a_token() {
    let Some(python) = std::env::var_os("CREDCHAIN_PYTHON_AZURE_IDENTITY") else {
        eprintln!(
            "skipped: set CREDCHAIN_PYTHON_AZURE_IDENTITY=\"$(.ci/install-azure-identity-python.sh)\" to run"
        );
        return;
    };
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    let script = "from azure.identity import ManagedIdentityCredential\n\
                  t = ManagedIdentityCredential().get_token('https://management.azure.com/.default')\n\
                  print(t.token)\nprint(t.expires_on)\n";
    let out = Command::new(python)
        .args(["-c", script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", host.home())
        .env("IDENTITY_ENDPOINT", &served.endpoint)
        .env("IDENTITY_HEADER", &served.header)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, format!("{AZ_TOKEN}\n4070908800\n"));
    // With the wrong header, Python gets no token.
    let out = Command::new(std::env::var_os("CREDCHAIN_PYTHON_AZURE_IDENTITY").expect("set"))
        .args(["-c", script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", host.home())
        .env("IDENTITY_ENDPOINT", &served.endpoint)
        .env("IDENTITY_HEADER", "wrong-secret-0123456789abcdef")
        .output()
        .expect("run python");
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(AZ_TOKEN));
}

/// The official Rust `azure_identity::ManagedIdentityCredential` reads `IDENTITY_ENDPOINT` and
/// `IDENTITY_HEADER` from the process environment only (azure_identity 1.0
/// `managed_identity_credential.rs`, `get_source`), so the check runs in a child copy of this
/// test binary started with those variables: [`rust_azure_identity_child`].
#[test]
fn rust_azure_identity_gets_a_token() {
    let host = Host::with_az("0");
    let served = Served::start(&host, &[]);
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "serve::rust_azure_identity_child",
            "--ignored",
            "--nocapture",
        ])
        .env("IDENTITY_ENDPOINT", &served.endpoint)
        .env("IDENTITY_HEADER", &served.header)
        .env("CREDCHAIN_SERVE_CHILD", "1")
        // Only the App Service source may be chosen, and loopback is never proxied.
        .env_remove("MSI_ENDPOINT")
        .env_remove("MSI_SECRET")
        .env_remove("IMDS_ENDPOINT")
        .env_remove("IDENTITY_SERVER_THUMBPRINT")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(host.az_runs(), 1);
}

/// Run only by [`rust_azure_identity_gets_a_token`], with the variables set.
#[tokio::test]
#[ignore = "run by rust_azure_identity_gets_a_token in a child process"]
async fn rust_azure_identity_child() {
    use azure_core::credentials::TokenCredential as _;
    assert_eq!(std::env::var("CREDCHAIN_SERVE_CHILD").as_deref(), Ok("1"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let credential = azure_identity::ManagedIdentityCredential::new(None).expect("App Service source");
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect("token from credchain serve");
    assert_eq!(token.token.secret(), AZ_TOKEN);
    assert_eq!(token.expires_on.unix_timestamp(), 4070908800);
}
