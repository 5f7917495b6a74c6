//! Finding the `az` executable.
//!
//! Order: the explicit path from [`AzureCliCredentialBuilder::az_path`](crate::AzureCliCredentialBuilder::az_path)
//! (used as is, no fallback); otherwise `PATH` (from the injected [`Env`]; on Windows `az.cmd` is
//! tried before `az`); otherwise the usual install locations, because a process started from a
//! desktop app or an IDE often has a thin `PATH`:
//!
//! | OS | locations |
//! |---|---|
//! | Linux, macOS | `/opt/homebrew/bin`, `/usr/local/bin`, `~/.local/bin`, `/home/linuxbrew/.linuxbrew/bin`, `/usr/bin` |
//! | Windows | `%ProgramFiles%\Microsoft SDKs\Azure\CLI2\wbin`, `%ProgramFiles(x86)%\Microsoft SDKs\Azure\CLI2\wbin` |
//!
//! Relative `PATH` entries (such as `.`) are resolved against the safe working directory, never the
//! current one, so an `az` planted in the application's directory is not picked up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use credchain_core::Env;

/// Where `az` was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The configured path.
    Explicit(PathBuf),
    /// On `PATH`.
    Path(PathBuf),
    /// In a well-known install location.
    WellKnown(PathBuf),
}

impl Found {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Found::Explicit(p) | Found::Path(p) | Found::WellKnown(p) => p,
        }
    }

    pub(crate) fn how(&self) -> &'static str {
        match self {
            Found::Explicit(_) => "configured",
            Found::Path(_) => "PATH",
            Found::WellKnown(_) => "well-known location",
        }
    }
}

/// Why `az` was not found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NotFound {
    /// The configured path is not an executable file.
    Explicit(PathBuf),
    /// Not on `PATH` nor in any of these directories.
    Searched(Vec<PathBuf>),
}

/// The names to look for, in order.
fn names() -> &'static [&'static str] {
    if cfg!(windows) { &["az.cmd", "az"] } else { &["az"] }
}

/// The usual install directories for this OS, read through `env`.
pub(crate) fn well_known_dirs(env: &Env) -> Vec<PathBuf> {
    if cfg!(windows) {
        let program_files = env
            .non_blank("ProgramFiles")
            .unwrap_or_else(|| r"C:\Program Files".to_owned());
        let program_files_x86 = env
            .non_blank("ProgramFiles(x86)")
            .unwrap_or_else(|| r"C:\Program Files (x86)".to_owned());
        [program_files, program_files_x86]
            .into_iter()
            .map(|root| Path::new(&root).join(r"Microsoft SDKs\Azure\CLI2\wbin"))
            .collect()
    } else {
        let mut dirs = vec![
            PathBuf::from("/opt/homebrew/bin"),
            PathBuf::from("/usr/local/bin"),
        ];
        if let Some(home) = env.non_blank("HOME") {
            dirs.push(Path::new(&home).join(".local/bin"));
        }
        dirs.push(PathBuf::from("/home/linuxbrew/.linuxbrew/bin"));
        dirs.push(PathBuf::from("/usr/bin"));
        dirs
    }
}

/// Finds `az`. `safe_dir` resolves relative `PATH` entries.
pub(crate) fn locate(explicit: Option<&Path>, env: &Env, safe_dir: &Path) -> Result<Found, NotFound> {
    if let Some(path) = explicit {
        return if is_executable_file(path) {
            Ok(Found::Explicit(path.to_owned()))
        } else {
            Err(NotFound::Explicit(path.to_owned()))
        };
    }
    if let Some(path_var) = env.var_os("PATH").filter(|p| !p.is_empty())
        && let Some(found) = search(&path_var, safe_dir)
    {
        return Ok(Found::Path(found));
    }
    let dirs = well_known_dirs(env);
    for dir in &dirs {
        for name in names() {
            if let Ok(found) = which::which_in(name, Some(dir.as_os_str()), safe_dir) {
                return Ok(Found::WellKnown(found));
            }
        }
    }
    Err(NotFound::Searched(dirs))
}

fn search(path_var: &OsString, safe_dir: &Path) -> Option<PathBuf> {
    names()
        .iter()
        .find_map(|name| which::which_in(name, Some(path_var), safe_dir).ok())
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn make_exe(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    #[test]
    fn path_wins_and_skips_non_executables() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        make_exe(a.path(), "az", 0o644); // not executable: skipped
        let good = make_exe(b.path(), "az", 0o755);
        let path = format!("{}:{}", a.path().display(), b.path().display());
        let env = Env::from_pairs([("PATH", path.as_str())]);
        assert_eq!(locate(None, &env, Path::new("/")), Ok(Found::Path(good)));
    }

    #[test]
    fn relative_path_entries_resolve_against_the_safe_dir() {
        let safe = tempfile::tempdir().expect("tempdir");
        let planted = tempfile::tempdir().expect("tempdir");
        make_exe(planted.path(), "az", 0o755);
        let good = make_exe(safe.path(), "az", 0o755);
        // `.` must mean the safe directory, wherever the process happens to be.
        let env = Env::from_pairs([("PATH", ".")]);
        let found = locate(None, &env, safe.path()).expect("found");
        assert_eq!(
            std::fs::canonicalize(found.path()).ok(),
            std::fs::canonicalize(&good).ok()
        );
    }

    #[test]
    fn explicit_path_is_used_without_fallback() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = make_exe(dir.path(), "my-az", 0o755);
        let env = Env::empty();
        assert_eq!(
            locate(Some(&exe), &env, Path::new("/")),
            Ok(Found::Explicit(exe.clone()))
        );
        let missing = dir.path().join("nope");
        assert_eq!(
            locate(Some(&missing), &env, Path::new("/")),
            Err(NotFound::Explicit(missing))
        );
        let not_exec = make_exe(dir.path(), "plain", 0o600);
        assert!(locate(Some(&not_exec), &env, Path::new("/")).is_err());
        assert!(
            locate(Some(dir.path()), &env, Path::new("/")).is_err(),
            "a directory is not az"
        );
    }

    #[test]
    fn home_local_bin_is_a_fallback() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(home.path().join(".local/bin")).expect("mkdir");
        let exe = make_exe(&home.path().join(".local/bin"), "az", 0o755);
        let empty_path = tempfile::tempdir().expect("tempdir");
        let home_s = home.path().to_string_lossy().into_owned();
        let path_s = empty_path.path().to_string_lossy().into_owned();
        let env = Env::from_pairs([("HOME", home_s.as_str()), ("PATH", path_s.as_str())]);
        match locate(None, &env, Path::new("/")) {
            // A machine with az in /opt/homebrew/bin or /usr/local/bin finds that first.
            Ok(Found::WellKnown(p)) if p.starts_with("/opt/homebrew") || p.starts_with("/usr/local") => {}
            other => assert_eq!(other, Ok(Found::WellKnown(exe))),
        }
    }

    #[test]
    fn not_found_lists_the_searched_dirs() {
        let env = Env::from_pairs([("HOME", "/nonexistent-home"), ("PATH", "/nonexistent-bin")]);
        match locate(None, &env, Path::new("/")) {
            Err(NotFound::Searched(dirs)) => {
                assert!(dirs.contains(&PathBuf::from("/opt/homebrew/bin")));
                assert!(dirs.contains(&PathBuf::from("/nonexistent-home/.local/bin")));
            }
            // Only possible on a machine with az installed system-wide.
            Ok(Found::WellKnown(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}
