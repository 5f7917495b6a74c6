//! The sign-in record that VS Code's Azure Resources extension writes.
//!
//! The extension (`ms-azuretools.vscode-azureresourcegroups`) saves the signed-in account as
//! `~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json` (or under `~/.Azure` on
//! some systems). The record names the account; it holds no token. Tokens for it come from the
//! OS broker (WAM), which credchain does not use, so the record only lets credchain tell the
//! user who is signed in and what to do instead.

use std::path::{Path, PathBuf};

use credchain_core::fs::{ReadErrorKind, read_bounded};
use credchain_core::{Env, validate};
use serde_json::{Map, Value};

use crate::settings::{Os, home_dir};

/// VS Code's application (client) ID, used by both the Azure Account and the Azure Resources
/// extensions.
pub const VSCODE_CLIENT_ID: &str = "aebc6443-996d-45c2-90f0-388ff96faa56";

/// The largest record credchain reads; exactly this many bytes is accepted.
pub(crate) const AUTH_RECORD_MAX_BYTES: u64 = 10 * 1024;

const RECORD_DIR: &str = "ms-azuretools.vscode-azureresourcegroups";
const RECORD_FILE: &str = "authRecord.json";

/// The places the record is looked for, in order: `~/.azure/…`, then `~/.Azure/…`.
pub(crate) fn default_auth_record_paths(os: Os, env: &Env) -> Result<Vec<PathBuf>, String> {
    let home = home_dir(os, env)?;
    Ok([".azure", ".Azure"]
        .into_iter()
        .map(|dir| home.join(dir).join(RECORD_DIR).join(RECORD_FILE))
        .collect())
}

/// A validated sign-in record. None of its fields is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuthRecord {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) home_account_id: String,
    pub(crate) authority: String,
}

/// What looking for the record found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthRecordState {
    /// No file at any of these paths (or no path: the reason says why).
    Missing(Result<Vec<PathBuf>, String>),
    /// A valid record.
    Valid(PathBuf, AuthRecord),
    /// The first existing file is not a valid record; the message says why.
    Invalid(PathBuf, String),
}

impl AuthRecordState {
    /// The path of the file that was read, if one existed.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            AuthRecordState::Missing(_) => None,
            AuthRecordState::Valid(path, _) | AuthRecordState::Invalid(path, _) => Some(path),
        }
    }
}

/// Reads the first of `paths` that exists, through [`read_bounded`]. Like the Azure SDKs, a
/// later path is not tried when the first existing one is invalid.
pub(crate) fn load_auth_record(paths: Result<Vec<PathBuf>, String>) -> AuthRecordState {
    let Ok(candidates) = &paths else {
        return AuthRecordState::Missing(paths);
    };
    for path in candidates {
        let bytes = match read_bounded(path, AUTH_RECORD_MAX_BYTES) {
            Ok(bytes) => bytes,
            Err(e) => {
                let why = match e.kind() {
                    ReadErrorKind::NotFound => continue,
                    ReadErrorKind::NotRegularFile => "is not a regular file".to_owned(),
                    ReadErrorKind::TooLarge => format!(
                        "is larger than {} KiB, so it is probably corrupt",
                        AUTH_RECORD_MAX_BYTES / 1024
                    ),
                    _ => format!("cannot be read: {}", e.reason()),
                };
                return AuthRecordState::Invalid(path.clone(), why);
            }
        };
        return match parse_auth_record(&bytes) {
            Ok(record) => AuthRecordState::Valid(path.clone(), record),
            Err(reason) => AuthRecordState::Invalid(path.clone(), reason),
        };
    }
    AuthRecordState::Missing(paths)
}

/// Parses and validates a record: a JSON object with five non-empty strings (`tenantId`,
/// `clientId`, `username`, `homeAccountId`, `authority`); `tenantId` must be a valid tenant
/// and `clientId` must be VS Code's. Other keys (such as `version`) are ignored.
///
/// # Errors
///
/// A phrase completing "the sign-in record `path` …", listing every problem found.
pub(crate) fn parse_auth_record(bytes: &[u8]) -> Result<AuthRecord, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("is not valid JSON ({e})"))?;
    let Value::Object(map) = value else {
        return Err("must hold a JSON object".to_owned());
    };
    let mut problems = Vec::new();
    let tenant_id = required(&map, "tenantId", &mut problems);
    if let Some(tenant) = &tenant_id
        && let Err(reason) = validate::tenant_id(tenant)
    {
        problems.push(format!("`tenantId` is not valid: {reason}"));
    }
    let client_id = required(&map, "clientId", &mut problems);
    if let Some(client) = &client_id
        && client != VSCODE_CLIENT_ID
    {
        problems.push(format!(
            "`clientId` must be VS Code's client ID `{VSCODE_CLIENT_ID}`"
        ));
    }
    let username = required(&map, "username", &mut problems);
    let home_account_id = required(&map, "homeAccountId", &mut problems);
    let authority = required(&map, "authority", &mut problems);
    match (tenant_id, client_id, username, home_account_id, authority) {
        (Some(tenant_id), Some(client_id), Some(username), Some(home_account_id), Some(authority))
            if problems.is_empty() =>
        {
            Ok(AuthRecord {
                tenant_id,
                client_id,
                username,
                home_account_id,
                authority,
            })
        }
        _ => Err(format!("is not valid: {}", problems.join("; "))),
    }
}

fn required(map: &Map<String, Value>, key: &str, problems: &mut Vec<String>) -> Option<String> {
    match map.get(key) {
        None => {
            problems.push(format!("`{key}` is missing"));
            None
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => {
            problems.push(format!("`{key}` must be a non-empty string"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"tenantId": "12345678-1234-1234-1234-123456789012",
        "clientId": "aebc6443-996d-45c2-90f0-388ff96faa56",
        "username": "user@example.com",
        "homeAccountId": "uid.utid",
        "authority": "login.microsoftonline.com",
        "version": "1.0"}"#;

    fn with(key: &str, value: Value) -> Vec<u8> {
        let mut map: Map<String, Value> = serde_json::from_str(VALID).unwrap();
        if value.is_null() {
            map.remove(key);
        } else {
            map.insert(key.to_owned(), value);
        }
        serde_json::to_vec(&map).unwrap()
    }

    #[test]
    fn valid_record() {
        let record = parse_auth_record(VALID.as_bytes()).unwrap();
        assert_eq!(record.username, "user@example.com");
        assert_eq!(record.tenant_id, "12345678-1234-1234-1234-123456789012");
        assert_eq!(record.client_id, VSCODE_CLIENT_ID);
        assert_eq!(record.home_account_id, "uid.utid");
        assert_eq!(record.authority, "login.microsoftonline.com");
        let bom = [b"\xef\xbb\xbf".as_slice(), VALID.as_bytes()].concat();
        assert_eq!(parse_auth_record(&bom).unwrap(), record);
    }

    #[test]
    fn every_problem_is_reported_in_order() {
        let cases: [(&[u8], &str); 9] = [
            (
                b"{}",
                "is not valid: `tenantId` is missing; `clientId` is missing; `username` is missing; \
                 `homeAccountId` is missing; `authority` is missing",
            ),
            (
                br#"{"tenantId": "t", "clientId": "aebc6443-996d-45c2-90f0-388ff96faa56"}"#,
                "is not valid: `username` is missing; `homeAccountId` is missing; `authority` is missing",
            ),
            (
                &with("clientId", "12345-123456".into()),
                "is not valid: `clientId` must be VS Code's client ID `aebc6443-996d-45c2-90f0-388ff96faa56`",
            ),
            (
                &with("tenantId", 123.into()),
                "is not valid: `tenantId` must be a non-empty string",
            ),
            (
                &with("username", "".into()),
                "is not valid: `username` must be a non-empty string",
            ),
            (
                &with("homeAccountId", Value::Array(vec![])),
                "is not valid: `homeAccountId` must be a non-empty string",
            ),
            (b"[1]", "must hold a JSON object"),
            (b"null", "must hold a JSON object"),
            (
                br#"{"tenantId": "test", "clientId": "#,
                "is not valid JSON (EOF while parsing",
            ),
        ];
        for (bytes, expected) in cases {
            let got = parse_auth_record(bytes).unwrap_err();
            assert!(
                got.starts_with(expected),
                "{}\n got {got}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn bad_tenant_is_explained() {
        let err = parse_auth_record(&with("tenantId", "bad tenant".into())).unwrap_err();
        assert!(
            err.starts_with("is not valid: `tenantId` is not valid: invalid tenant ID"),
            "{err}"
        );
        assert!(err.contains("`bad tenant`"), "{err}");
    }

    #[test]
    fn paths_are_lower_then_upper_case() {
        let env = Env::from_pairs([("HOME", "/home/u")]);
        assert_eq!(
            default_auth_record_paths(Os::Linux, &env).unwrap(),
            vec![
                PathBuf::from("/home/u/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json"),
                PathBuf::from("/home/u/.Azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json"),
            ]
        );
        assert!(default_auth_record_paths(Os::Linux, &Env::empty()).is_err());
    }

    #[test]
    fn first_existing_file_wins_even_when_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.json");
        let second = dir.path().join("b.json");
        let paths = || Ok(vec![first.clone(), second.clone()]);
        assert!(matches!(
            load_auth_record(paths()),
            AuthRecordState::Missing(Ok(_))
        ));

        std::fs::write(&second, VALID).unwrap();
        assert!(matches!(load_auth_record(paths()), AuthRecordState::Valid(p, _) if p == second));

        std::fs::write(&first, "{").unwrap();
        assert!(matches!(load_auth_record(paths()), AuthRecordState::Invalid(p, _) if p == first));
    }

    #[test]
    fn size_limit_is_inclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authRecord.json");
        let paths = || Ok(vec![path.clone()]);
        let padded = |len: usize| {
            let mut text = VALID.as_bytes().to_vec();
            text.resize(len, b' ');
            text
        };
        std::fs::write(&path, padded(10 * 1024)).unwrap();
        assert!(matches!(load_auth_record(paths()), AuthRecordState::Valid(..)));
        std::fs::write(&path, padded(10 * 1024 + 1)).unwrap();
        match load_auth_record(paths()) {
            AuthRecordState::Invalid(_, reason) => {
                assert_eq!(reason, "is larger than 10 KiB, so it is probably corrupt")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_directory_is_refused_with_its_path_and_later_paths_are_not_tried() {
        let dir = tempfile::tempdir().unwrap();
        let later = dir.path().join("later.json");
        std::fs::write(&later, VALID).unwrap();
        match load_auth_record(Ok(vec![dir.path().to_owned(), later])) {
            AuthRecordState::Invalid(path, reason) => {
                assert_eq!(path, dir.path());
                assert_eq!(reason, "is not a regular file");
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("authRecord.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        match load_auth_record(Ok(vec![fifo])) {
            AuthRecordState::Invalid(_, reason) => assert_eq!(reason, "is not a regular file"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}

/// Property tests: no bytes panic the sign-in record parser, its messages stay short, and a
/// record as the extension writes it is read back exactly, or refused naming each bad key.
/// 10,000 cases each; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::settings::prop::run;
    use proptest::prelude::*;
    use serde_json::json;

    const KEYS: [&str; 5] = ["tenantId", "clientId", "username", "homeAccountId", "authority"];

    fn check(bytes: &[u8]) -> Result<Option<AuthRecord>, TestCaseError> {
        match parse_auth_record(bytes) {
            Ok(record) => {
                prop_assert!(validate::tenant_id(&record.tenant_id).is_ok());
                prop_assert_eq!(record.client_id.as_str(), VSCODE_CLIENT_ID);
                Ok(Some(record))
            }
            Err(message) => {
                prop_assert!(!message.is_empty());
                // Five problems; a bad tenant is quoted, but the record is at most 10 KiB.
                prop_assert!(message.chars().count() <= 1200, "{}", message.chars().count());
                Ok(None)
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let bytes = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            ".{0,200}".prop_map(String::into_bytes),
        ];
        run(bytes, |bytes| check(&bytes).map(drop));
    }

    /// A field's value: usually a good one, sometimes blank, missing or of another type.
    fn field(good: BoxedStrategy<String>) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            6 => good.prop_map(|s| Some(Value::from(s))),
            1 => Just(None),
            1 => "[ \t]{0,2}".prop_map(|s| Some(Value::from(s))),
            1 => Just(Some(Value::Null)),
            1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
        ]
    }

    #[test]
    fn records_are_read_back_or_refused_naming_each_bad_key() {
        let tenant = prop_oneof![
            4 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            1 => "[a-z0-9.-]{1,30}",
            1 => ".{1,20}",
        ]
        .boxed();
        let client = prop_oneof![4 => Just(VSCODE_CLIENT_ID.to_owned()), 1 => "[0-9a-f-]{1,36}"].boxed();
        let text = || ".{1,40}".boxed();
        run(
            (
                field(tenant),
                field(client),
                field(text()),
                field(text()),
                field(text()),
                any::<bool>(),
            ),
            |(tenant, client, username, home, authority, bom)| {
                let values = [tenant, client, username, home, authority];
                let mut map = Map::new();
                map.insert("version".into(), json!("1.0"));
                for (key, value) in KEYS.iter().zip(&values) {
                    if let Some(v) = value {
                        map.insert((*key).into(), v.clone());
                    }
                }
                let mut bytes = if bom { b"\xef\xbb\xbf".to_vec() } else { Vec::new() };
                bytes.extend(serde_json::to_vec_pretty(&map).unwrap_or_default());
                let good = |i: usize| match &values[i] {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                    _ => None,
                };
                let tenant_ok = good(0).is_some_and(|t| validate::tenant_id(&t).is_ok());
                let client_ok = good(1).is_some_and(|c| c == VSCODE_CLIENT_ID);
                let all_ok = tenant_ok && client_ok && (2..5).all(|i| good(i).is_some());
                match check(&bytes)? {
                    Some(record) => {
                        prop_assert!(all_ok);
                        let read = [
                            &record.tenant_id,
                            &record.client_id,
                            &record.username,
                            &record.home_account_id,
                            &record.authority,
                        ];
                        for (i, value) in read.into_iter().enumerate() {
                            prop_assert_eq!(Some(value.clone()), good(i));
                        }
                    }
                    None => {
                        prop_assert!(!all_ok);
                        let message = parse_auth_record(&bytes).unwrap_err();
                        let oks = [
                            tenant_ok,
                            client_ok,
                            good(2).is_some(),
                            good(3).is_some(),
                            good(4).is_some(),
                        ];
                        for (key, ok) in KEYS.iter().zip(oks) {
                            prop_assert_eq!(
                                message.contains(&format!("`{key}`")),
                                !ok,
                                "{}: {}",
                                key,
                                message
                            );
                        }
                    }
                }
                Ok(())
            },
        );
    }
}
