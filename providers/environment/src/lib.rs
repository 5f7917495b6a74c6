//! EnvironmentCredential (in progress).
