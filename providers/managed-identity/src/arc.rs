//! Azure Arc's challenge: the first answer is `401` with `WWW-Authenticate: Basic realm=<path>`
//! naming a key file the agent just wrote; the request is resent with `Authorization: Basic
//! <file contents>` (Python `azure_arc.py`). The key file is read only if it is a `.key` file
//! directly inside the agent's token directory and at most 4 KiB.

use std::path::{Component, Path, PathBuf};

use credchain_core::Env;
use credchain_core::fs::FileSystem;
use zeroize::Zeroizing;

/// The agent's token directory on Linux.
const LINUX_TOKEN_DIR: &str = "/var/opt/azcmagent/tokens";
/// The largest key file read.
pub(crate) const MAX_KEY_FILE: u64 = 4096;

/// The directory key files must lie in: `/var/opt/azcmagent/tokens`, or
/// `%ProgramData%\AzureConnectedMachineAgent\Tokens` on Windows.
fn token_dir(env: &Env) -> Option<PathBuf> {
    if cfg!(windows) {
        env.var("ProgramData")
            .map(|dir| Path::new(&dir).join("AzureConnectedMachineAgent").join("Tokens"))
    } else {
        Some(PathBuf::from(LINUX_TOKEN_DIR))
    }
}

/// The key file named by a `WWW-Authenticate` header, if it is one the agent could have written.
///
/// # Errors
///
/// A message saying what is wrong with the challenge.
pub(crate) fn key_file(www_authenticate: Option<&str>, env: &Env) -> Result<PathBuf, String> {
    let header = www_authenticate
        .ok_or("Azure Arc answered 401 without a `WWW-Authenticate` challenge naming its key file")?;
    let realm = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, rest)| rest.trim().strip_prefix("realm="))
        .map(|value| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
        .ok_or("Azure Arc's `WWW-Authenticate` challenge is not `Basic realm=<key file path>`")?;
    let path = Path::new(realm);
    let dir = token_dir(env).ok_or("cannot find the Azure Arc token directory: `ProgramData` is not set")?;
    let refuse = || {
        format!(
            "Azure Arc's challenge names a key file outside the agent's token directory `{}` or not ending in `.key`; refusing to read it",
            dir.display()
        )
    };
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(refuse)?;
    let plain_name = name.len() > 4
        && name.ends_with(".key")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    // Checked on the text: `Path::components` hides `.` segments and repeated separators.
    let separators: &[char] = if cfg!(windows) { &['/', '\\'] } else { &['/'] };
    let only_normal = realm
        .split(separators)
        .skip(1)
        .all(|segment| !matches!(segment, "" | "." | ".."))
        && path.components().all(|c| {
            matches!(
                c,
                Component::RootDir | Component::Prefix(_) | Component::Normal(_)
            )
        });
    let in_dir = path.parent().is_some_and(|parent| same_dir(parent, &dir));
    if !(plain_name && only_normal && in_dir && path.is_absolute()) {
        return Err(refuse());
    }
    Ok(path.to_path_buf())
}

/// `true` when two directory paths are the same (ASCII case-insensitive on Windows).
fn same_dir(a: &Path, b: &Path) -> bool {
    if cfg!(windows) {
        a.to_string_lossy().eq_ignore_ascii_case(&b.to_string_lossy())
    } else {
        a == b
    }
}

/// Reads the key through the bounded reader and checks it can go into a header.
///
/// # Errors
///
/// A message naming the file and the reason (missing, too large, not text).
pub(crate) fn read_key(fs: &dyn FileSystem, path: &Path) -> Result<Zeroizing<String>, String> {
    let bytes = fs
        .read(path, MAX_KEY_FILE)
        .map_err(|e| format!("Azure Arc key file: {e}"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("Azure Arc key file `{}` is not text", path.display()))?;
    let key = text.trim();
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(format!(
            "Azure Arc key file `{}` is empty or holds control characters",
            path.display()
        ));
    }
    Ok(Zeroizing::new(key.to_owned()))
}

#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;
    use credchain_core::fs::MemoryFileSystem;

    fn path_of(header: &str) -> Result<PathBuf, String> {
        key_file(Some(header), &Env::empty())
    }

    #[test]
    fn accepts_the_agents_key_file() {
        let p = path_of("Basic realm=/var/opt/azcmagent/tokens/3f2a.key").expect("valid");
        assert_eq!(p, Path::new("/var/opt/azcmagent/tokens/3f2a.key"));
        assert!(path_of("basic realm=\"/var/opt/azcmagent/tokens/a.key\"").is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "Basic realm=/etc/shadow",
            "Basic realm=/var/opt/azcmagent/tokens/../../../etc/x.key",
            "Basic realm=/var/opt/azcmagent/tokens/./a.key",
            "Basic realm=/var/opt/azcmagent//tokens/a.key",
            "Basic realm=/var/opt/azcmagent/tokens/sub/a.key",
            "Basic realm=/var/opt/azcmagent/tokens/a.txt",
            "Basic realm=/var/opt/azcmagent/tokens/.key",
            "Basic realm=var/opt/azcmagent/tokens/a.key",
            "Basic realm=/var/opt/azcmagent/tokensX/a.key",
            "Basic realm=/var/opt/azcmagent/tokens/a b.key",
            "Bearer realm=/var/opt/azcmagent/tokens/a.key",
            "Basic realm=",
            "Basic",
        ] {
            assert!(path_of(bad).is_err(), "{bad}");
        }
        assert!(
            key_file(None, &Env::empty())
                .unwrap_err()
                .contains("without a `WWW-Authenticate`")
        );
    }

    #[test]
    fn reads_a_small_key_only() {
        let path = Path::new("/var/opt/azcmagent/tokens/a.key");
        let fs = MemoryFileSystem::new().with_file(path, "secret-key\n");
        assert_eq!(read_key(&fs, path).expect("ok").as_str(), "secret-key");
        fs.write(path, vec![b'a'; 4097]);
        assert!(read_key(&fs, path).unwrap_err().contains("a.key"));
        fs.write(path, "two\nlines");
        assert!(read_key(&fs, path).is_err());
        fs.remove(path);
        assert!(read_key(&fs, path).is_err());
    }
}

/// Property tests: whatever `WWW-Authenticate` challenge the network sends, the only paths
/// accepted are plain `*.key` files directly in the agent's token directory, and a challenge
/// naming such a file gives exactly that path. 10,000 cases each; CI fixes the seed with
/// `PROPTEST_RNG_SEED`.
#[cfg(all(test, unix))]
mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Challenges around the token directory: `.`/`..`/empty segments, other directories,
    /// odd names and quoting.
    fn challenge() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            Just(LINUX_TOKEN_DIR.to_owned()),
            Just("/var/opt/azcmagent".to_owned()),
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just(String::new()),
            Just("tokens".to_owned()),
            "[a-zA-Z0-9._-]{1,10}",
            "[a-z]{1,6}\\.key",
            ".{1,6}",
        ];
        let scheme = prop_oneof![Just("Basic"), Just("basic"), Just("Bearer"), Just("")];
        (
            scheme,
            proptest::collection::vec(segment, 1..5),
            any::<bool>(),
            " ?",
        )
            .prop_map(|(scheme, segments, quoted, space)| {
                let path = segments.join("/");
                let q = if quoted { "\"" } else { "" };
                format!("{scheme} realm={q}{path}{q}{space}")
            })
    }

    #[test]
    fn only_plain_key_files_in_the_token_directory_are_accepted() {
        run(prop_oneof![challenge(), ".{0,80}"], |header| {
            match key_file(Some(&header), &Env::empty()) {
                Ok(path) => {
                    let text = path.to_str().unwrap_or_default();
                    let name = text
                        .strip_prefix(LINUX_TOKEN_DIR)
                        .and_then(|n| n.strip_prefix('/'));
                    let name = name.ok_or_else(|| TestCaseError::fail(format!("{header:?} -> {text}")))?;
                    prop_assert!(
                        name.len() > 4 && name.ends_with(".key"),
                        "{:?} -> {}",
                        header,
                        text
                    );
                    prop_assert!(
                        name.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                        "{:?} -> {}",
                        header,
                        text
                    );
                }
                Err(message) => prop_assert!(message.len() < 300, "{}", message),
            }
            Ok(())
        });
    }

    #[test]
    fn a_plain_key_file_in_the_token_directory_is_accepted_as_named() {
        let scheme = prop_oneof![Just("Basic"), Just("basic"), Just("BASIC")];
        run(
            (scheme, "[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}", any::<bool>()),
            |(scheme, stem, quoted)| {
                let path = format!("{LINUX_TOKEN_DIR}/{stem}.key");
                let q = if quoted { "\"" } else { "" };
                let accepted = key_file(Some(&format!("{scheme} realm={q}{path}{q}")), &Env::empty());
                prop_assert_eq!(accepted, Ok(PathBuf::from(path)));
                Ok(())
            },
        );
    }
}
