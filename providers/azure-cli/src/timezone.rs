//! The time zone `az` wrote its legacy local `expiresOn` in.
//!
//! Only consulted when the CLI's output has no `expires_on` (CLIs older than 2.54.0), so a
//! normal run never touches the time zone at all. Every file is read through
//! [`read_bounded`](credchain_core::fs::read_bounded): `TZ` is set by whoever started us and may
//! name `/dev/zero` (endless) or a FIFO (blocks forever); those count as "not a zone file".
//!
//! Resolution follows glibc, which is what the CLI's Python used to write the time:
//!
//! 1. `TZ` read through the injected [`Env`] (the process environment by default, else the map):
//!    empty, `UTC` or `UTC0` → UTC; `/path` (optionally `:`-prefixed) → that TZif file; an IANA
//!    name → the file under the zoneinfo directories (`/usr/share/zoneinfo`, `/usr/lib/zoneinfo`,
//!    `/usr/share/lib/zoneinfo`); otherwise a POSIX rule such as `EST5EDT,M3.2.0,M11.1.0`.
//!    A `TZ` that is none of these means UTC, as in glibc.
//! 2. `TZ` unset → `/etc/localtime` (its symlink target gives the zone's name), else UTC.
//!
//! jiff's own system-zone lookup is not used on Unix: it reads the *process's* `TZ` (and
//! `TZDIR`) without a size bound. On Windows, where `TZ` is rarely set, an unset `TZ` falls back
//! to jiff's system zone (the Windows time-zone API).

use std::path::Path;

use credchain_core::Env;
use credchain_core::fs::read_bounded;
use jiff::tz::TimeZone;

/// Real TZif files are a few KiB; the largest in tzdata is under 100 KiB.
const TZIF_LIMIT: u64 = 256 * 1024;

/// Where IANA names are looked up (the usual `TZDIR` locations).
const ZONEINFO_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
];

/// The system zone file on Unix.
const LOCALTIME: &str = "/etc/localtime";

/// The zone `az` ran in, resolved from `env`'s `TZ` (see the module docs). Never blocks on a
/// special file and never reads more than 256 KiB of one.
pub(crate) fn local_time_zone(env: &Env) -> TimeZone {
    match env.var_os("TZ") {
        Some(tz) => from_tz(&tz.to_string_lossy()).unwrap_or(TimeZone::UTC),
        None => system_zone(),
    }
}

/// The zone a set `TZ` names, or `None` when it names nothing usable.
fn from_tz(value: &str) -> Option<TimeZone> {
    let name = value.strip_prefix(':').unwrap_or(value).trim();
    if name.is_empty() || name == "UTC" || name == "UTC0" {
        return Some(TimeZone::UTC);
    }
    if name.starts_with('/') {
        return tzif_file(Path::new(name), zone_name(name).unwrap_or(name));
    }
    if is_zone_name(name)
        && let Some(tz) = named_zone(name)
    {
        return Some(tz);
    }
    TimeZone::posix(name).ok()
}

/// An IANA-shaped name (`Europe/Paris`, `EST5EDT`, `Etc/GMT+5`): nothing that could climb out
/// of the zoneinfo directory.
fn is_zone_name(name: &str) -> bool {
    name.len() <= 64
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
}

/// The IANA name in a path such as `/usr/share/zoneinfo/America/New_York`.
fn zone_name(path: &str) -> Option<&str> {
    const NEEDLE: &str = "zoneinfo/";
    path.rfind(NEEDLE)
        .map(|at| &path[at + NEEDLE.len()..])
        .filter(|name| is_zone_name(name))
}

#[cfg(unix)]
fn named_zone(name: &str) -> Option<TimeZone> {
    ZONEINFO_DIRS
        .iter()
        .find_map(|dir| tzif_file(&Path::new(dir).join(name), name))
}

#[cfg(not(unix))]
fn named_zone(name: &str) -> Option<TimeZone> {
    // jiff's bundled database; no file named by the environment is read.
    let _ = ZONEINFO_DIRS;
    TimeZone::get(name).ok()
}

/// A TZif file read with a bound; `None` when it is missing, special, too large or not TZif.
fn tzif_file(path: &Path, name: &str) -> Option<TimeZone> {
    let data = read_bounded(path, TZIF_LIMIT).ok()?;
    TimeZone::tzif(name, &data).ok()
}

#[cfg(unix)]
fn system_zone() -> TimeZone {
    let link = std::fs::read_link(LOCALTIME).ok();
    let name = link
        .as_deref()
        .and_then(Path::to_str)
        .and_then(zone_name)
        .unwrap_or(LOCALTIME);
    tzif_file(Path::new(LOCALTIME), name).unwrap_or(TimeZone::UTC)
}

#[cfg(not(unix))]
fn system_zone() -> TimeZone {
    let _ = LOCALTIME;
    TimeZone::system()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn offset_hours(env: &Env) -> i32 {
        let at = date(2023, 10, 31).at(21, 59, 10, 0);
        let tz = local_time_zone(env);
        tz.to_offset(tz.to_ambiguous_timestamp(at).compatible().expect("valid"))
            .seconds()
            / 3600
    }

    #[test]
    fn tz_values_like_glibc() {
        let tz = |v: &str| offset_hours(&Env::from_pairs([("TZ", v)]));
        assert_eq!(tz("UTC"), 0);
        assert_eq!(tz(""), 0);
        assert_eq!(tz("EST5EDT,M3.2.0,M11.1.0"), -4);
        assert_eq!(tz("<+0530>-5:30"), 5);
        // Unusable values mean UTC, as in glibc (not the machine's zone).
        assert_eq!(tz("No/Such_Zone"), 0);
        assert_eq!(tz("../../../../etc/passwd"), 0);
        // Names and absolute paths are read from the tz database when this machine has one.
        if Path::new("/usr/share/zoneinfo/America/New_York").is_file() {
            assert_eq!(tz("America/New_York"), -4);
            assert_eq!(tz("/usr/share/zoneinfo/America/New_York"), -4);
            assert_eq!(tz(":/usr/share/zoneinfo/Asia/Kolkata"), 5);
        }
    }

    #[test]
    fn names_cannot_climb_out_of_zoneinfo() {
        assert!(is_zone_name("America/New_York"));
        assert!(is_zone_name("Etc/GMT+5"));
        for bad in ["../etc/passwd", "a/../../b", "/abs", "a//b", "a b", "x/./y", ""] {
            assert!(!is_zone_name(bad), "{bad}");
        }
        assert_eq!(
            zone_name("/usr/share/zoneinfo/Europe/Paris"),
            Some("Europe/Paris")
        );
        assert_eq!(zone_name("/tmp/zoneinfo/../x"), None);
    }

    #[cfg(unix)]
    #[test]
    fn tz_naming_a_device_a_fifo_or_a_huge_file_is_utc_without_reading_it() {
        // `/dev/zero` would never end (the old code's process-env path read it unbounded); a
        // FIFO would block in `open` forever (the old code hung on it for a map env too).
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .and_then(|f| f.set_len(10 * 1024 * 1024))
            .expect("sparse file");
        for path in [Path::new("/dev/zero"), Path::new("/"), &fifo, &big] {
            let value = path.to_str().expect("utf-8 path");
            assert_eq!(
                local_time_zone(&Env::from_pairs([("TZ", value)])),
                TimeZone::UTC,
                "{value}"
            );
            let prefixed = format!(":{value}");
            assert_eq!(
                local_time_zone(&Env::from_pairs([("TZ", prefixed.as_str())])),
                TimeZone::UTC,
                "{prefixed}"
            );
        }
    }

    /// Run by [`the_process_environment_takes_the_same_bounded_path`] in a child process whose
    /// real `TZ` names a FIFO or `/dev/zero`; ignored when run directly.
    #[test]
    #[ignore = "run as a child process by the_process_environment_takes_the_same_bounded_path"]
    fn child_resolves_process_tz() {
        if std::env::var_os("CREDCHAIN_TZ_CHILD").is_none() {
            return;
        }
        assert_eq!(local_time_zone(&Env::Process), TimeZone::UTC);
    }

    #[cfg(unix)]
    #[test]
    fn the_process_environment_takes_the_same_bounded_path() {
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("run mkfifo")
                .success()
        );
        let exe = std::env::current_exe().expect("test binary");
        for tz in [Path::new("/dev/zero"), fifo.as_path()] {
            let mut child = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "timezone::tests::child_resolves_process_tz",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env("TZ", tz)
                .env("CREDCHAIN_TZ_CHILD", "1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn the test binary");
            // A bound against a hang (the bug), not a timing goal.
            let until = Instant::now() + Duration::from_secs(60);
            let status = loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    break Some(status);
                }
                if Instant::now() > until {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(
                status.is_some_and(|s| s.success()),
                "TZ={}: {status:?}",
                tz.display()
            );
        }
    }
}

/// Property tests: no `TZ` value (other than a file path, which reads a file) and no TZif file
/// content panics the zone lookup. 10,000 cases each; CI fixes the seed with
/// `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::run;
    use proptest::prelude::*;

    #[test]
    fn any_tz_value_never_panics() {
        let posix = "[A-Z<>+0-9-]{0,8}[+-]?[0-9]{0,3}(:[0-9]{0,3}){0,2}([A-Z<>+0-9-]{0,6}(,[JM]?[0-9.]{0,8}(/[+-]?[0-9:]{0,9})?){0,2})?";
        let tz = prop_oneof![posix, "[A-Za-z_]{1,10}(/[A-Za-z_+-]{1,10}){0,2}", ".{0,40}"]
            .prop_filter("no file paths", |v| {
                !v.trim_start_matches(':').trim().starts_with('/')
            });
        run(tz, |tz| {
            let _ = from_tz(&tz);
            Ok(())
        });
    }

    #[test]
    fn any_tzif_content_never_panics() {
        let body = proptest::collection::vec(any::<u8>(), 0..512);
        run((body, any::<bool>()), |(body, header)| {
            let data = if header {
                [b"TZif2".as_slice(), &[0; 15], &body].concat()
            } else {
                body
            };
            let _ = TimeZone::tzif("X/Y", &data);
            Ok(())
        });
    }
}
