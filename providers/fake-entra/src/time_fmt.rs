//! Timestamps in the formats Entra and ARM print.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-11-26 06:51:52Z`, the format of Entra's `timestamp` field.
pub(crate) fn entra_timestamp(at: SystemTime) -> String {
    let secs = unix_secs(at);
    let dt =
        time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    dt.format(&format).unwrap_or_default()
}

/// Whole seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_entra() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_675_912);
        assert_eq!(entra_timestamp(at), "2026-11-26 06:51:52Z");
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), 0);
    }
}
