//! Adapters to and from the official Azure SDK for Rust (feature `azure-core`). Work in progress.
