//! Where `azd` is looked for: its name and usual install directories. The search itself (and
//! the ownership check for install directories) is `credchain_process::locate`, shared with the
//! other developer-CLI providers.
//!
//! | OS | locations |
//! |---|---|
//! | Linux, macOS | `/usr/local/bin` (the install script's link), `/opt/homebrew/bin`, `/home/linuxbrew/.linuxbrew/bin`, `/usr/bin` |
//! | Windows | `%LOCALAPPDATA%\Programs\Azure Dev CLI` (the MSI's per-user folder), `%ProgramFiles%\Azure Dev CLI` |
//!
//! (azure-dev `cli/installer/install-azd.sh`, `uninstall-azd.ps1`.)

use std::path::{Path, PathBuf};

use credchain_core::Env;
use credchain_process::{Found, NotFound, locate};

/// Finds `azd`: `explicit`, else `PATH`, else the usual install directories. `safe_dir` resolves
/// relative `PATH` entries.
pub(crate) fn find_azd(explicit: Option<&Path>, env: &Env, safe_dir: &Path) -> Result<Found, NotFound> {
    locate(&["azd"], explicit, env, &well_known_dirs(env), safe_dir)
}

/// The usual install directories for this OS, read through `env`.
fn well_known_dirs(env: &Env) -> Vec<PathBuf> {
    if cfg!(windows) {
        let mut dirs = Vec::new();
        if let Some(local) = env.non_blank("LOCALAPPDATA") {
            dirs.push(Path::new(&local).join(r"Programs\Azure Dev CLI"));
        }
        let program_files = env
            .non_blank("ProgramFiles")
            .unwrap_or_else(|| r"C:\Program Files".to_owned());
        dirs.push(Path::new(&program_files).join("Azure Dev CLI"));
        dirs
    } else {
        [
            "/usr/local/bin",
            "/opt/homebrew/bin",
            "/home/linuxbrew/.linuxbrew/bin",
            "/usr/bin",
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect()
    }
}
