//! Where the cache lives and the checks that make it private: `$XDG_RUNTIME_DIR/credchain` when
//! that is set (a per-user tmpfs, emptied at logout), else `$XDG_CACHE_HOME/credchain`, else
//! `$HOME/.cache/credchain`. The directory is created 0700; an existing one must be a real
//! directory (not a link) owned by the effective user with no group or other permissions, or
//! the cache is refused.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The cache directory for this environment (`var` reads a variable), or why there is none.
pub(super) fn locate(var: impl Fn(&str) -> Option<String>) -> Result<PathBuf, String> {
    let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(runtime) = absolute("XDG_RUNTIME_DIR") {
        return Ok(runtime.join("credchain"));
    }
    if let Some(cache) = absolute("XDG_CACHE_HOME") {
        return Ok(cache.join("credchain"));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".cache").join("credchain"));
    }
    Err(
        "no per-user directory for the token cache: set XDG_RUNTIME_DIR, XDG_CACHE_HOME or \
         HOME, or drop --cache"
            .to_owned(),
    )
}

/// Creates `dir` (0700; its parents with the usual permissions) if missing, then checks it.
pub(super) fn prepare(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent() {
        // Parents such as ~/.cache are ordinary directories; only the last one must be private.
        let _ = std::fs::create_dir_all(parent);
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(format!(
                "cannot create the token cache directory `{}`: {e}; drop --cache or fix the path",
                dir.display()
            ));
        }
    }
    check_private(dir, rustix::process::geteuid().as_raw())
}

/// Refuses `dir` unless it is a directory (not a symbolic link) owned by `uid` and closed to
/// group and others.
pub(super) fn check_private(dir: &Path, uid: u32) -> Result<(), String> {
    let shown = dir.display();
    let metadata = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot inspect the token cache directory `{shown}`: {e}"))?;
    if !metadata.file_type().is_dir() {
        return Err(format!(
            "refusing the token cache directory `{shown}`: it is not a directory (a symbolic \
             link or a file); remove it and run again"
        ));
    }
    if metadata.uid() != uid {
        return Err(format!(
            "refusing the token cache directory `{shown}`: it belongs to user {}, not to you \
             ({uid}); remove it, or set XDG_RUNTIME_DIR to a directory of yours",
            metadata.uid()
        ));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "refusing the token cache directory `{shown}`: group or others can access it (mode \
             {mode:o}); run `chmod 700 {shown}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn runtime_dir_then_cache_home_then_home() {
        let all = [
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ("XDG_CACHE_HOME", "/c"),
            ("HOME", "/h"),
        ];
        assert_eq!(locate(vars(&all)), Ok(PathBuf::from("/run/user/1000/credchain")));
        assert_eq!(locate(vars(&all[1..])), Ok(PathBuf::from("/c/credchain")));
        assert_eq!(locate(vars(&all[2..])), Ok(PathBuf::from("/h/.cache/credchain")));
        // Relative values are ignored, as the XDG spec says.
        assert_eq!(
            locate(vars(&[("XDG_RUNTIME_DIR", "run"), ("HOME", "/h")])),
            Ok(PathBuf::from("/h/.cache/credchain"))
        );
        assert!(locate(vars(&[])).unwrap_err().contains("--cache"));
    }

    #[test]
    fn creates_a_private_directory() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b/credchain");
        prepare(&dir).expect("created");
        let mode = std::fs::metadata(&dir).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        prepare(&dir).expect("and accepted again");
    }

    #[test]
    fn refuses_open_foreign_or_linked_directories() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("credchain");
        prepare(&dir).expect("created");
        let me = rustix::process::geteuid().as_raw();
        let err = check_private(&dir, me.wrapping_add(1)).expect_err("foreign");
        assert!(err.contains("belongs to user"), "{err}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        let err = prepare(&dir).expect_err("group-readable");
        assert!(err.contains("chmod 700") && err.contains("750"), "{err}");
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).expect("symlink");
        let err = prepare(&link).expect_err("link");
        assert!(err.contains("not a directory"), "{err}");
    }
}
