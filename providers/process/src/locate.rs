//! Finding a developer CLI's executable.
//!
//! Order: the explicit path the user configured (used as is, no fallback); otherwise `PATH` (from
//! the injected [`Env`]), trying each of the tool's names in turn; otherwise the tool's usual
//! install directories, because a process started from a desktop app or an IDE often has a thin
//! `PATH`.
//!
//! Relative `PATH` entries (such as `.`) are resolved against the safe working directory, never the
//! current one, so a program planted in the application's directory is not picked up.
//!
//! On Unix a program found in an install directory (not on `PATH`, not configured) is only used
//! when it and its directory are owned by root or the current user and are not writable by
//! others (see [`check_trusted`]): nobody asked for that directory, so it must not be a place
//! another user can plant a program in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use credchain_core::Env;

/// Where the program was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// The configured path.
    Explicit(PathBuf),
    /// On `PATH`.
    Path(PathBuf),
    /// In a well-known install location.
    WellKnown(PathBuf),
}

impl Found {
    /// The program's path.
    pub fn path(&self) -> &Path {
        match self {
            Found::Explicit(p) | Found::Path(p) | Found::WellKnown(p) => p,
        }
    }

    /// How it was found, for logs: `configured`, `PATH` or `well-known location`.
    pub fn how(&self) -> &'static str {
        match self {
            Found::Explicit(_) => "configured",
            Found::Path(_) => "PATH",
            Found::WellKnown(_) => "well-known location",
        }
    }
}

/// Why the program was not found (or not used).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotFound {
    /// The configured path is not an executable file.
    Explicit(PathBuf),
    /// Not on `PATH` nor in any of these directories.
    Searched(Vec<PathBuf>),
    /// Found in an install directory, but refused by [`check_trusted`]: `path` is the program,
    /// `reason` says which file or directory is wrong and how.
    Untrusted {
        /// The program that was found.
        path: PathBuf,
        /// What is wrong, e.g. "`/usr/local/bin` is writable by other users".
        reason: String,
    },
}

/// How a developer CLI is named in messages about finding it.
#[derive(Clone, Copy, Debug)]
pub struct CliName<'a> {
    /// For people: `Azure CLI`.
    pub product: &'a str,
    /// The command: `az`.
    pub command: &'a str,
    /// The builder option that sets its path: `AzureCliCredentialBuilder::az_path`.
    pub path_option: &'a str,
    /// Where to get it: `https://aka.ms/azure-cli`.
    pub install_url: &'a str,
}

impl NotFound {
    /// The message for people: what was looked at and what to do, e.g. "Azure CLI not found on
    /// path (searched `PATH` and `/usr/bin`); install it (…) or set its location with …".
    pub fn message(&self, cli: CliName<'_>) -> String {
        let CliName {
            product,
            command,
            path_option,
            install_url,
        } = cli;
        let install = format!("install it ({install_url}) or set its location with `{path_option}`");
        match self {
            NotFound::Explicit(path) => format!(
                "{product} not found at `{}` (set with `{}`); check the path, or {install}",
                path.display(),
                path_option.rsplit("::").next().unwrap_or(path_option)
            ),
            NotFound::Searched(dirs) => {
                let dirs: Vec<String> = dirs.iter().map(|d| format!("`{}`", d.display())).collect();
                format!(
                    "{product} not found on path (searched `PATH` and {}); {install}",
                    dirs.join(", ")
                )
            }
            NotFound::Untrusted { path, reason } => format!(
                "refusing to run the {product} found at `{}`: {reason}. Fix that, put a trusted \
                 `{command}` on `PATH`, or set `{path_option}`",
                path.display()
            ),
        }
    }
}

/// Finds a program called one of `names` (tried in order in each directory): `explicit` if
/// given, else on `env`'s `PATH`, else in `install_dirs` (checked with [`check_trusted`] on
/// Unix). `safe_dir` resolves relative `PATH` entries.
///
/// # Errors
///
/// [`NotFound`] saying what was tried.
pub fn locate(
    names: &[&str],
    explicit: Option<&Path>,
    env: &Env,
    install_dirs: &[PathBuf],
    safe_dir: &Path,
) -> Result<Found, NotFound> {
    if let Some(path) = explicit {
        return if is_executable_file(path) {
            Ok(Found::Explicit(path.to_owned()))
        } else {
            Err(NotFound::Explicit(path.to_owned()))
        };
    }
    if let Some(path_var) = env.var_os("PATH").filter(|p| !p.is_empty())
        && let Some(found) = search(names, &path_var, safe_dir)
    {
        return Ok(Found::Path(found));
    }
    for dir in install_dirs {
        for name in names {
            if let Ok(found) = which::which_in(name, Some(dir.as_os_str()), safe_dir) {
                return match check_trusted(&found) {
                    Ok(()) => Ok(Found::WellKnown(found)),
                    Err(reason) => Err(NotFound::Untrusted { path: found, reason }),
                };
            }
        }
    }
    Err(NotFound::Searched(install_dirs.to_vec()))
}

fn search(names: &[&str], path_var: &OsString, safe_dir: &Path) -> Option<PathBuf> {
    names
        .iter()
        .find_map(|name| which::which_in(name, Some(path_var), safe_dir).ok())
}

/// Checks that a program found in an install directory is safe to run (Unix): the file (after
/// following links), the directory it was found in, and the directory of the file it links to
/// are each owned by root or the current user, and none is writable by its group (unless that
/// group is root's) or by others.
///
/// # Errors
///
/// A sentence naming the file or directory, what is wrong, and how to fix it.
#[cfg(unix)]
pub fn check_trusted(program: &Path) -> Result<(), String> {
    let mut to_check = vec![program.to_owned()];
    if let Some(dir) = program.parent() {
        to_check.push(dir.to_owned());
    }
    if let Ok(real) = std::fs::canonicalize(program)
        && let Some(real_dir) = real.parent()
        && !to_check.iter().any(|p| p == real_dir)
    {
        to_check.push(real_dir.to_owned());
    }
    to_check.iter().try_for_each(|p| check_owner_and_mode(p))
}

/// Windows has no such check (install directories there are admin-only by default).
#[cfg(not(unix))]
pub fn check_trusted(_program: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(unix)]
fn check_owner_and_mode(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot inspect `{shown}`: {e}"))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(format!(
            "`{shown}` is owned by user {} (neither root nor you), so it could be replaced by someone \
             else; reinstall it, or `chown root` it",
            meta.uid()
        ));
    }
    let mode = meta.mode();
    if mode & 0o002 != 0 || (mode & 0o020 != 0 && meta.gid() != 0) {
        let who = if mode & 0o002 != 0 {
            "all users"
        } else {
            "its group"
        };
        return Err(format!(
            "`{shown}` is writable by {who} (mode {:o}), so someone else could plant a program \
             there; run `chmod go-w {shown}`",
            mode & 0o7777
        ));
    }
    Ok(())
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
        assert_eq!(
            locate(&["az"], None, &env, &[], Path::new("/")),
            Ok(Found::Path(good))
        );
    }

    #[test]
    fn relative_path_entries_resolve_against_the_safe_dir() {
        let safe = tempfile::tempdir().expect("tempdir");
        let planted = tempfile::tempdir().expect("tempdir");
        make_exe(planted.path(), "az", 0o755);
        let good = make_exe(safe.path(), "az", 0o755);
        // `.` must mean the safe directory, wherever the process happens to be.
        let env = Env::from_pairs([("PATH", ".")]);
        let found = locate(&["az"], None, &env, &[], safe.path()).expect("found");
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
            locate(&["az"], Some(&exe), &env, &[], Path::new("/")),
            Ok(Found::Explicit(exe.clone()))
        );
        let missing = dir.path().join("nope");
        assert_eq!(
            locate(&["az"], Some(&missing), &env, &[], Path::new("/")),
            Err(NotFound::Explicit(missing))
        );
        let not_exec = make_exe(dir.path(), "plain", 0o600);
        assert!(locate(&["az"], Some(&not_exec), &env, &[], Path::new("/")).is_err());
        assert!(
            locate(&["az"], Some(dir.path()), &env, &[], Path::new("/")).is_err(),
            "a directory is not az"
        );
    }

    #[test]
    fn an_install_dir_program_is_used_only_when_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let exe = make_exe(&bin, "tool", 0o755);
        let env = Env::from_pairs([("PATH", "/nonexistent-bin")]);
        let dirs = [bin.clone()];
        let find = || locate(&["tool"], None, &env, &dirs, Path::new("/"));
        assert_eq!(find(), Ok(Found::WellKnown(exe.clone())));

        // A directory anyone can write to: someone could have planted the program.
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        match find() {
            Err(NotFound::Untrusted { path, reason }) => {
                assert_eq!(path, exe);
                assert!(reason.contains(&format!("`{}`", bin.display())), "{reason}");
                assert!(
                    reason.contains("writable by all users") && reason.contains("chmod go-w"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        // The program itself group-writable (this user's group is not root's in CI; skip if so).
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        let group_is_root = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(&exe).map(|m| m.gid() == 0).unwrap_or(true)
        };
        if group_is_root {
            assert!(find().is_ok(), "root's group is trusted");
        } else {
            assert!(matches!(find(), Err(NotFound::Untrusted { .. })));
        }

        // Through a symlink: the real file's directory is checked too.
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let open_dir = dir.path().join("open");
        std::fs::create_dir(&open_dir).expect("mkdir");
        let real = make_exe(&open_dir, "real-tool", 0o755);
        std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let bin2 = dir.path().join("bin2");
        std::fs::create_dir(&bin2).expect("mkdir");
        std::os::unix::fs::symlink(&real, bin2.join("tool")).expect("symlink");
        let err = check_trusted(&bin2.join("tool")).expect_err("target dir is open");
        assert!(err.contains(&format!("`{}`", open_dir.display())), "{err}");
    }

    #[test]
    fn path_and_explicit_programs_are_not_ownership_checked() {
        // The user chose these; only install directories nobody asked for are checked.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let exe = make_exe(dir.path(), "tool", 0o755);
        let path = dir.path().to_string_lossy().into_owned();
        let env = Env::from_pairs([("PATH", path.as_str())]);
        assert_eq!(
            locate(&["tool"], None, &env, &[], Path::new("/")),
            Ok(Found::Path(exe.clone()))
        );
        assert_eq!(
            locate(&["tool"], Some(&exe), &Env::empty(), &[], Path::new("/")),
            Ok(Found::Explicit(exe))
        );
    }
}
