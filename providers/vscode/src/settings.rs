//! VS Code's user settings: where `settings.json` lives, and the two keys credchain reads.
//!
//! Parsing is pure (text in, values out); only [`read_settings`] touches the file system.

use std::fmt;
use std::path::{Path, PathBuf};

use credchain_core::Env;
use credchain_core::fs::{ReadErrorKind, read_bounded};
use serde_json::Value;

/// The largest `settings.json` credchain reads. VS Code's own files are a few KiB; anything this
/// big is corrupt or not a settings file, and reading it would only waste memory.
pub(crate) const SETTINGS_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The settings key naming the Azure cloud.
pub(crate) const CLOUD_KEY: &str = "azure.cloud";
/// The settings key naming the tenant.
pub(crate) const TENANT_KEY: &str = "azure.tenant";

/// The cloud VS Code uses when `azure.cloud` is not set.
pub(crate) const DEFAULT_CLOUD: &str = "AzureCloud";
/// The tenant VS Code uses when `azure.tenant` is not set (work and school accounts only).
pub(crate) const DEFAULT_TENANT: &str = credchain_core::tenant::ORGANIZATIONS;

/// Which operating system's file layout to use. A parameter rather than a `cfg` so that every
/// layout is tested on every platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Os {
    Linux,
    Mac,
    Windows,
}

impl Os {
    /// The layout of the platform this was compiled for (Linux for every other Unix).
    pub(crate) fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Mac
        } else {
            Os::Linux
        }
    }
}

/// The user's home directory, as `~` would expand: `HOME` on Unix; `USERPROFILE`, then
/// `HOMEDRIVE` + `HOMEPATH` on Windows.
pub(crate) fn home_dir(os: Os, env: &Env) -> Result<PathBuf, String> {
    if os == Os::Windows {
        if let Some(profile) = env.non_blank("USERPROFILE") {
            return Ok(PathBuf::from(profile));
        }
        return match (env.non_blank("HOMEDRIVE"), env.non_blank("HOMEPATH")) {
            (Some(drive), Some(path)) => Ok(PathBuf::from(format!("{drive}{path}"))),
            _ => Err("neither `USERPROFILE` nor `HOMEDRIVE` and `HOMEPATH` are set".to_owned()),
        };
    }
    env.var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| "`HOME` is not set".to_owned())
}

/// Where VS Code (stable) keeps the user's `settings.json` on `os`.
///
/// * Linux and other Unix: `$XDG_CONFIG_HOME/Code/User/settings.json` when `XDG_CONFIG_HOME` is
///   an absolute path (the XDG rule), else `~/.config/Code/User/settings.json`.
/// * macOS: `~/Library/Application Support/Code/User/settings.json`.
/// * Windows: `%APPDATA%\Code\User\settings.json`.
///
/// # Errors
///
/// Why there is no path (the variable it needs is not set).
pub(crate) fn default_settings_path(os: Os, env: &Env) -> Result<PathBuf, String> {
    let base = match os {
        Os::Linux => match env.var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            _ => home_dir(os, env)?.join(".config"),
        },
        Os::Mac => home_dir(os, env)?.join("Library").join("Application Support"),
        Os::Windows => env
            .var_os("APPDATA")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| "`APPDATA` is not set".to_owned())?,
    };
    Ok(base.join("Code").join("User").join("settings.json"))
}

/// The values credchain takes from `settings.json`. Unset and blank values are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VsCodeSettings {
    /// `azure.cloud`: `AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment` or a custom name.
    pub(crate) cloud: Option<String>,
    /// `azure.tenant`: a tenant ID or domain.
    pub(crate) tenant: Option<String>,
}

/// What reading `settings.json` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SettingsState {
    /// No path could be worked out (the reason says which variable is missing).
    NoPath(String),
    /// The file does not exist: VS Code's defaults apply.
    Missing(PathBuf),
    /// The file was read and understood.
    Loaded(PathBuf, VsCodeSettings),
    /// The file exists but could not be used; the message says why and what to do.
    Invalid(PathBuf, String),
}

impl SettingsState {
    /// The values to use, or the reason the file could not be used.
    pub(crate) fn settings(&self) -> Result<VsCodeSettings, &str> {
        match self {
            SettingsState::NoPath(_) | SettingsState::Missing(_) => Ok(VsCodeSettings::default()),
            SettingsState::Loaded(_, settings) => Ok(settings.clone()),
            SettingsState::Invalid(_, reason) => Err(reason),
        }
    }

    /// The file's path, when one was worked out.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            SettingsState::NoPath(_) => None,
            SettingsState::Missing(path)
            | SettingsState::Loaded(path, _)
            | SettingsState::Invalid(path, _) => Some(path),
        }
    }
}

/// Reads and parses `path` through [`read_bounded`]. A missing file is not an error (VS Code's
/// defaults apply); a directory, device or FIFO, an unreadable or oversized file is.
pub(crate) fn read_settings(path: &Path) -> SettingsState {
    let shown = path.display();
    let invalid = |reason: String| SettingsState::Invalid(path.to_owned(), reason);
    let bytes = match read_bounded(path, SETTINGS_MAX_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => {
            return match e.kind() {
                ReadErrorKind::NotFound => SettingsState::Missing(path.to_owned()),
                ReadErrorKind::NotRegularFile => invalid(format!(
                    "the VS Code settings path `{shown}` is not a regular file; point credchain at the settings file"
                )),
                ReadErrorKind::TooLarge => invalid(format!(
                    "the VS Code settings file `{shown}` is larger than {} MiB, so it is not read; it is probably \
                     corrupt: check it in VS Code (`Preferences: Open User Settings (JSON)`)",
                    SETTINGS_MAX_BYTES / (1024 * 1024)
                )),
                _ => invalid(format!(
                    "cannot read the VS Code settings file `{shown}`: {}; fix the file's permissions or point \
                     credchain at another settings file",
                    e.reason()
                )),
            };
        }
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => match parse_settings(text) {
            Ok(settings) => SettingsState::Loaded(path.to_owned(), settings),
            Err(reason) => invalid(format!(
                "the VS Code settings file `{shown}` {reason}; fix it in VS Code (`Preferences: Open User \
                 Settings (JSON)`)"
            )),
        },
        Err(_) => invalid(format!(
            "the VS Code settings file `{shown}` is not UTF-8 text; save it as UTF-8 in VS Code"
        )),
    }
}

/// Parses the text of `settings.json` the way VS Code accepts it: JSON with comments and
/// trailing commas, with or without a UTF-8 byte-order mark. An empty file means "no settings".
///
/// # Errors
///
/// A phrase that completes "the VS Code settings file `path` …": a syntax error with its line and
/// column, a top level that is not an object, or a key whose value is not a string.
pub(crate) fn parse_settings(text: &str) -> Result<VsCodeSettings, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = jsonc_parser::parse_to_serde_value(text, &jsonc_parser::ParseOptions::default())
        .map_err(|e| format!("is not valid JSON with comments: {e}"))?;
    let map = match value {
        Value::Null => return Ok(VsCodeSettings::default()),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "must hold a JSON object, but holds {}",
                json_type(&other)
            ));
        }
    };
    let mut problems = Vec::new();
    let mut string_setting = |key: &str, expected: &str| match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Some(other) => {
            problems.push(format!(
                "has `{key}` set to {}, but it must be a string ({expected})",
                json_type(other)
            ));
            None
        }
    };
    let cloud = string_setting(
        CLOUD_KEY,
        "`AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment` or a custom cloud's name",
    );
    let tenant = string_setting(TENANT_KEY, "a tenant ID or domain");
    if problems.is_empty() {
        Ok(VsCodeSettings { cloud, tenant })
    } else {
        Err(problems.join(" and "))
    }
}

/// "a number", "an array", … for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl fmt::Display for Os {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Os::Linux => "Linux",
            Os::Mac => "macOS",
            Os::Windows => "Windows",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> VsCodeSettings {
        match parse_settings(text) {
            Ok(settings) => settings,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    fn settings(cloud: Option<&str>, tenant: Option<&str>) -> VsCodeSettings {
        VsCodeSettings {
            cloud: cloud.map(str::to_owned),
            tenant: tenant.map(str::to_owned),
        }
    }

    #[test]
    fn accepts_what_vs_code_accepts() {
        let cases = [
            ("", settings(None, None)),
            ("   \n", settings(None, None)),
            ("// only a comment\n", settings(None, None)),
            ("{}", settings(None, None)),
            (
                r#"{"azure.cloud": "AzureChinaCloud", "azure.tenant": "tid"}"#,
                settings(Some("AzureChinaCloud"), Some("tid")),
            ),
            (
                "{\n  // the cloud\n  \"azure.cloud\": \"AzureUSGovernment\", /* block */\n  \"editor.fontSize\": 14,\n}\n",
                settings(Some("AzureUSGovernment"), None),
            ),
            (
                "\u{feff}{\"azure.tenant\": \"contoso.onmicrosoft.com\",}",
                settings(None, Some("contoso.onmicrosoft.com")),
            ),
            (
                r#"{"azure.tenant": "  ", "azure.cloud": null}"#,
                settings(None, None),
            ),
            (
                r#"{"azure.tenant": " t1 ", "azure": {"cloud": "ignored"}}"#,
                settings(None, Some("t1")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parsed(text), expected, "{text:?}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            (
                r#"{"azure.cloud": 3}"#,
                "has `azure.cloud` set to a number, but it must be a string",
            ),
            (
                r#"{"azure.tenant": ["a"], "azure.cloud": true}"#,
                "has `azure.cloud` set to a boolean, but it must be a string (`AzureCloud`, \
                 `AzureChinaCloud`, `AzureUSGovernment` or a custom cloud's name) and has \
                 `azure.tenant` set to an array",
            ),
            (r#"{"azure.tenant": {}}"#, "`azure.tenant` set to an object"),
            ("[1, 2]", "must hold a JSON object, but holds an array"),
            ("\"text\"", "must hold a JSON object, but holds a string"),
            (r#"{"azure.cloud": "#, "is not valid JSON with comments"),
            (
                "{\n\"azure.cloud\": \"AzureCloud\n}",
                "is not valid JSON with comments",
            ),
        ];
        for (text, needle) in cases {
            match parse_settings(text) {
                Ok(s) => panic!("{text:?} parsed as {s:?}"),
                Err(e) => assert!(e.contains(needle), "{text:?}: {e}"),
            }
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = parse_settings("{\n  \"a\": 1,\n  \"b\": ]\n}").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_settings(&text).is_err());
    }

    #[test]
    fn settings_path_per_os() {
        let env = Env::from_pairs([("HOME", "/home/u"), ("APPDATA", r"C:\Users\u\AppData\Roaming")]);
        assert_eq!(
            default_settings_path(Os::Linux, &env),
            Ok(PathBuf::from("/home/u/.config/Code/User/settings.json"))
        );
        assert_eq!(
            default_settings_path(Os::Mac, &env),
            Ok(PathBuf::from(
                "/home/u/Library/Application Support/Code/User/settings.json"
            ))
        );
        assert_eq!(
            default_settings_path(Os::Windows, &env),
            Ok(PathBuf::from(r"C:\Users\u\AppData\Roaming")
                .join("Code")
                .join("User")
                .join("settings.json"))
        );
    }

    #[test]
    fn xdg_config_home_is_used_only_when_absolute() {
        let absolute = Env::from_pairs([("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/cfg")]);
        assert_eq!(
            default_settings_path(Os::Linux, &absolute),
            Ok(PathBuf::from("/cfg/Code/User/settings.json"))
        );
        let relative = Env::from_pairs([("HOME", "/home/u"), ("XDG_CONFIG_HOME", "cfg")]);
        assert_eq!(
            default_settings_path(Os::Linux, &relative),
            Ok(PathBuf::from("/home/u/.config/Code/User/settings.json"))
        );
        // macOS ignores XDG_CONFIG_HOME, as VS Code does.
        assert_eq!(
            default_settings_path(Os::Mac, &absolute),
            Ok(PathBuf::from(
                "/home/u/Library/Application Support/Code/User/settings.json"
            ))
        );
    }

    #[test]
    fn missing_variables_are_named() {
        let empty = Env::empty();
        assert_eq!(
            default_settings_path(Os::Linux, &empty),
            Err("`HOME` is not set".into())
        );
        assert_eq!(
            default_settings_path(Os::Mac, &empty),
            Err("`HOME` is not set".into())
        );
        assert_eq!(
            default_settings_path(Os::Windows, &Env::from_pairs([("APPDATA", "")])),
            Err("`APPDATA` is not set".into())
        );
    }

    #[test]
    fn windows_home_falls_back_to_drive_and_path() {
        let env = Env::from_pairs([("HOMEDRIVE", "D:"), ("HOMEPATH", r"\Users\u")]);
        assert_eq!(home_dir(Os::Windows, &env), Ok(PathBuf::from(r"D:\Users\u")));
        let env = Env::from_pairs([
            ("USERPROFILE", r"C:\Users\p"),
            ("HOMEDRIVE", "D:"),
            ("HOMEPATH", "x"),
        ]);
        assert_eq!(home_dir(Os::Windows, &env), Ok(PathBuf::from(r"C:\Users\p")));
        assert!(home_dir(Os::Windows, &Env::from_pairs([("HOME", "/home/u")])).is_err());
    }

    #[test]
    fn reading_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        assert_eq!(read_settings(&path), SettingsState::Missing(path.clone()));

        std::fs::write(&path, "{\"azure.cloud\": \"AzureChinaCloud\", // c\n}").unwrap();
        assert_eq!(
            read_settings(&path),
            SettingsState::Loaded(path.clone(), settings(Some("AzureChinaCloud"), None))
        );

        std::fs::write(&path, [0xff, 0xfe, b'{', b'}']).unwrap();
        let SettingsState::Invalid(_, reason) = read_settings(&path) else {
            panic!("non-UTF-8 accepted")
        };
        assert!(reason.contains("is not UTF-8 text"), "{reason}");
        assert!(reason.contains(&path.display().to_string()), "{reason}");

        let SettingsState::Invalid(_, reason) = read_settings(dir.path()) else {
            panic!("a directory accepted")
        };
        assert!(
            reason.starts_with("the VS Code settings path") && reason.contains("is not a regular file"),
            "{reason}"
        );
    }

    #[test]
    fn huge_file_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let file = std::fs::File::create(&path).unwrap();
        // Sparse: no 16 MiB written to disk.
        file.set_len(SETTINGS_MAX_BYTES + 1).unwrap();
        let SettingsState::Invalid(_, reason) = read_settings(&path) else {
            panic!("huge file accepted")
        };
        assert!(reason.contains("is larger than 16 MiB"), "{reason}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("settings.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        match read_settings(&fifo) {
            SettingsState::Invalid(_, reason) => assert!(reason.contains("not a regular file"), "{reason}"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}

/// Property tests: no text panics the settings parser, its messages stay short, and settings
/// written the way VS Code writes them (comments, trailing commas, a BOM, other keys) give back
/// the two values. 10,000 cases each; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
pub(crate) mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::json;

    /// Runs `test` on 10,000 inputs drawn from `strategy` (this crate's parser properties).
    pub(crate) fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn check(text: &str) -> Result<Option<VsCodeSettings>, TestCaseError> {
        match parse_settings(text) {
            Ok(settings) => {
                for value in [&settings.cloud, &settings.tenant].into_iter().flatten() {
                    prop_assert!(!value.is_empty() && value.trim() == value);
                }
                Ok(Some(settings))
            }
            Err(message) => {
                prop_assert!(!message.is_empty());
                prop_assert!(message.chars().count() <= 400, "{}", message);
                Ok(None)
            }
        }
    }

    /// Text that is JSON-like: braces, strings, comments, commas and the two keys.
    fn jsonc_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("\"azure.cloud\"".to_owned()),
            Just("\"azure.tenant\"".to_owned()),
            Just("// c\n".to_owned()),
            Just("/* c */".to_owned()),
            Just("/*".to_owned()),
            Just("null".to_owned()),
            Just("\u{feff}".to_owned()),
            "\"[^\"\\\\]{0,8}\"",
            "-?[0-9]{1,25}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,4})?",
            "[ \t\r\n]{1,3}",
            ".{1,3}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        for depth in [1_000, 100_000] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let text = format!("{{\"x\": {}1{}}}", open.repeat(depth), close.repeat(depth));
                for text in [text, open.repeat(depth)] {
                    let message = parse_settings(&text).unwrap_err();
                    assert!(message.contains("nesting") && message.len() < 200, "{message}");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        run(prop_oneof![".{0,200}", jsonc_like()], |text| {
            check(&text).map(drop)
        });
    }

    /// A value for one of the two keys: a string (maybe blank or padded), null, or a wrong type.
    fn setting() -> impl Strategy<Value = Option<Value>> {
        proptest::option::of(prop_oneof![
            4 => ".{0,30}".prop_map(Value::from),
            1 => "[ \t]{0,3}[A-Za-z0-9.-]{1,20}[ \t]{0,3}".prop_map(Value::from),
            1 => Just(Value::Null),
            1 => any::<i64>().prop_map(Value::from),
            1 => Just(json!(["AzureCloud"])),
            1 => Just(json!({"name": "AzureCloud"})),
        ])
    }

    #[test]
    fn settings_as_vs_code_writes_them_give_back_the_values() {
        let other = proptest::collection::vec(("[a-z]{1,8}\\.[a-zA-Z]{1,8}", any::<i32>()), 0..4);
        let comment = prop_oneof![Just(""), Just("// note\n"), Just("/* x */ "), Just("\n\t")];
        run(
            (setting(), setting(), other, comment, any::<bool>(), any::<bool>()),
            |(cloud, tenant, other, comment, trailing_comma, bom)| {
                let mut members = Vec::new();
                for (key, value) in [(CLOUD_KEY, &cloud), (TENANT_KEY, &tenant)] {
                    if let Some(v) = value {
                        members.push(format!("{comment}{}: {v}", json!(key)));
                    }
                }
                for (key, n) in &other {
                    members.push(format!("{}: {n}", json!(key)));
                }
                let mut text = format!(
                    "{}{{\n  {}",
                    if bom { "\u{feff}" } else { "" },
                    members.join(",\n  ")
                );
                if trailing_comma && !members.is_empty() {
                    text.push(',');
                }
                text.push_str(&format!("\n{comment}}}\n"));
                let expect = |value: &Option<Value>| match value {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
                    Some(_) => Err(()),
                };
                match (expect(&cloud), expect(&tenant), check(&text)?) {
                    (Ok(cloud), Ok(tenant), Some(parsed)) => {
                        prop_assert_eq!(parsed, VsCodeSettings { cloud, tenant }, "{}", text);
                    }
                    (Err(()), _, None) | (_, Err(()), None) => {
                        let message = parse_settings(&text).unwrap_err();
                        let bad_cloud = expect(&cloud).is_err();
                        prop_assert_eq!(message.contains(CLOUD_KEY), bad_cloud, "{}", message);
                        prop_assert_eq!(
                            message.contains(TENANT_KEY),
                            expect(&tenant).is_err(),
                            "{}",
                            message
                        );
                    }
                    (cloud, tenant, parsed) => {
                        return Err(TestCaseError::fail(format!(
                            "{text:?}: {cloud:?} {tenant:?} -> {parsed:?}"
                        )));
                    }
                }
                Ok(())
            },
        );
    }
}
