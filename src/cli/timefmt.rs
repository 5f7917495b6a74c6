//! Times and durations as the CLI prints them: az's `expiresOn`, times for people, `N ms`.

use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A Unix time as az's `expiresOn`: `YYYY-MM-DD HH:MM:SS.ffffff` in `tz`, without a zone; empty
/// when out of range.
pub(crate) fn az_local_time(unix_seconds: i64, tz: &TimeZone) -> String {
    match Timestamp::from_second(unix_seconds) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S.%6f")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// A Unix time for people: `YYYY-MM-DD HH:MM:SS ZONE` in `tz`.
pub(crate) fn human_time(unix_seconds: i64, tz: &TimeZone) -> String {
    match Timestamp::from_second(unix_seconds) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => format!("{unix_seconds} (out of range)"),
    }
}

/// Whole milliseconds, always as `N ms` (so tests can redact them with one pattern).
pub(crate) fn millis(elapsed: Duration) -> String {
    format!("{} ms", elapsed.as_millis())
}

/// Seconds with at most one decimal: `20 s`, `2.5 s`.
pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az_time_format_matches_az() {
        // `expires_on` and `expiresOn` as Azure CLI 2.91.0 printed them, with TZ=UTC.
        let utc = TimeZone::UTC;
        assert_eq!(az_local_time(1_795_679_499, &utc), "2026-11-26 07:51:39.000000");
        assert_eq!(az_local_time(4_070_908_800, &utc), "2099-01-01 00:00:00.000000");
        let new_york = TimeZone::get("America/New_York").expect("tzdb");
        assert_eq!(
            az_local_time(1_698_789_550, &new_york),
            "2023-10-31 17:59:10.000000"
        );
        assert_eq!(az_local_time(i64::MAX, &utc), "");
        assert_eq!(human_time(i64::MAX, &utc), format!("{} (out of range)", i64::MAX));
    }

    #[test]
    fn unix_seconds_handles_both_sides_of_the_epoch() {
        assert_eq!(
            unix_seconds(SystemTime::UNIX_EPOCH + Duration::from_millis(4_070_908_800_900)),
            4_070_908_800
        );
        assert_eq!(unix_seconds(SystemTime::UNIX_EPOCH - Duration::from_secs(5)), -5);
    }

    #[test]
    fn millis_and_seconds() {
        assert_eq!(millis(Duration::from_micros(999)), "0 ms");
        assert_eq!(millis(Duration::from_millis(12_034)), "12034 ms");
        assert_eq!(seconds(Duration::from_secs(20)), "20 s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5 s");
    }
}
