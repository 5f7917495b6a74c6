//! The chain probe's remembered outcome, for `describe()` and for every later call.

use std::fmt;
use std::time::Duration;

/// What the chain probe of IMDS found. The probe runs once per credential (concurrent first
/// callers share it) and its outcome is kept for the credential's life.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeReport {
    /// No probe: the credential is used alone, or its source is not IMDS.
    Off,
    /// The probe has not run yet (no token was requested).
    NotYet,
    /// IMDS answered (any HTTP status), so it is there; real requests follow with retries.
    Answered {
        /// The status of the probe's answer (usually 400: the probe omits `Metadata`).
        status: u16,
        /// How long the probe took.
        elapsed: Duration,
    },
    /// Nothing answered within the probe's timeout: this is not an Azure VM.
    NoAnswer {
        /// Why (refused, unreachable, timed out).
        reason: String,
        /// How long the probe took.
        elapsed: Duration,
    },
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        match self {
            ProbeReport::Off => f.write_str("no probe (used alone or not IMDS)"),
            ProbeReport::NotYet => f.write_str("not probed yet"),
            ProbeReport::Answered { status, elapsed } => {
                write!(f, "IMDS answered ({status}) in {:.1} ms", ms(elapsed))
            }
            ProbeReport::NoAnswer { reason, elapsed } => {
                write!(f, "no response from IMDS after {:.1} ms: {reason}", ms(elapsed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_outcome_and_time() {
        let answered = ProbeReport::Answered {
            status: 400,
            elapsed: Duration::from_micros(1500),
        };
        assert_eq!(answered.to_string(), "IMDS answered (400) in 1.5 ms");
        let none = ProbeReport::NoAnswer {
            reason: "connection refused".into(),
            elapsed: Duration::from_millis(2),
        };
        assert_eq!(
            none.to_string(),
            "no response from IMDS after 2.0 ms: connection refused"
        );
    }
}
