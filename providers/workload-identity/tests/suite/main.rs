//! Integration tests, grouped into one test binary: `WorkloadIdentityCredential` against the
//! fake Microsoft Entra ID over real HTTPS on loopback, with real token files.

mod end_to_end;
mod no_panic;
