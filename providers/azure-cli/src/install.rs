//! Where `az` is looked for: its names and usual install directories. The search itself (and
//! the ownership check for install directories) is `credchain_process::locate`, shared with
//! other developer-CLI providers.
//!
//! | OS | locations |
//! |---|---|
//! | Linux, macOS | `/opt/homebrew/bin`, `/usr/local/bin`, `~/.local/bin`, `/home/linuxbrew/.linuxbrew/bin`, `/usr/bin` |
//! | Windows | `%ProgramFiles%\Microsoft SDKs\Azure\CLI2\wbin`, `%ProgramFiles(x86)%\Microsoft SDKs\Azure\CLI2\wbin` |

use std::path::{Path, PathBuf};

use credchain_core::Env;
use credchain_process::{Found, NotFound, locate};

/// Finds `az`: `explicit`, else `PATH`, else the usual install directories. `safe_dir` resolves
/// relative `PATH` entries.
pub(crate) fn find_az(explicit: Option<&Path>, env: &Env, safe_dir: &Path) -> Result<Found, NotFound> {
    locate(names(), explicit, env, &well_known_dirs(env), safe_dir)
}

/// The names to look for, in order.
fn names() -> &'static [&'static str] {
    if cfg!(windows) { &["az.cmd", "az"] } else { &["az"] }
}

/// The usual install directories for this OS, read through `env`.
fn well_known_dirs(env: &Env) -> Vec<PathBuf> {
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

    fn find(env: &Env) -> Result<Found, NotFound> {
        find_az(None, env, Path::new("/"))
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
        match find(&env) {
            // A machine with az in /opt/homebrew/bin or /usr/local/bin finds that first.
            Ok(Found::WellKnown(p)) if p.starts_with("/opt/homebrew") || p.starts_with("/usr/local") => {}
            other => assert_eq!(other, Ok(Found::WellKnown(exe))),
        }
    }

    #[test]
    fn not_found_lists_the_searched_dirs() {
        let env = Env::from_pairs([("HOME", "/nonexistent-home"), ("PATH", "/nonexistent-bin")]);
        match find(&env) {
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
