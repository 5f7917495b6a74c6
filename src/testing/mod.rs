//! Fakes for tests: providers with canned, programmed or computed results, and a fake clock.
//!
//! Enabled by the `testing` cargo feature; use it from `[dev-dependencies]`:
//!
//! ```toml
//! [dev-dependencies]
//! credchain = { version = "0.1", features = ["testing"] }
//! ```
//!
//! | fake | what it does |
//! |---|---|
//! | [`StaticCredential`] | always returns the same token or error |
//! | [`FnCredential`] | computes each result with your async closure |
//! | [`ScriptedCredential`] | plays a programmed sequence of outcomes and delays, counting calls and recording requests |
//! | [`FakeClock`] | a clock that moves only when told to, for caches and token lifetimes |

mod closure;
mod scripted;
mod statik;

pub use closure::{FnCredential, TokenRequest};
pub use credchain_core::FakeClock;
pub use scripted::{RecordedRequest, ScriptedCredential};
pub use statik::StaticCredential;
