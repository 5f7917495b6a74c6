//! Reading what azd wrote on stderr when it failed, in every form azd 1.23–1.29 writes. Pure.
//!
//! With `--output json` azd writes its console messages to stderr, one JSON object per line
//! (azure-dev `cli/azd/cmd/container.go`: "When using JSON formatting, we want to ensure we always
//! write messages from the console to stderr"). A failed command ends with its error, written by
//! `UxMiddleware.Run` (`cli/azd/cmd/middleware/ux.go`):
//!
//! | azd | error line(s) |
//! |---|---|
//! | every version | a plain error: `{"type":"consoleMessage","timestamp":"<RFC 3339 nano>","data":{"message":"\nERROR: <error>\n"}}` (also how "not logged in, run `azd auth login` to login" comes) |
//! | 1.23.0–1.23.6 | an error with a suggestion: the same line, `message` being `\nERROR: fetching token: <error>\nSuggestion: <suggestion>\n` |
//! | 1.23.7–1.23.15 | an error with a suggestion: an empty `consoleMessage` line (`"message":"\n"`), then `{"error":"…","suggestion":"…"}` (`ux.ErrorWithSuggestion.MarshalJSON`) |
//! | 1.24.0–1.24.1 | the empty line is no longer written (`AskerConsole.Message` skips `""` in JSON mode): one `{"error":"…","suggestion":"…"}` line |
//! | 1.24.2–1.29 | one `{"error":"…","message":"…","suggestion":"…","links":[{"url":"…","title":"…"}]}` line |
//!
//! Anything that is not such a JSON line (a wrapper script, a flag-parsing error, an older azd's
//! text) is kept as text. The result is the messages in order, on one line, without JSON, the
//! `ERROR:` prefix, colours or control characters, with token-like strings hidden and at most
//! [`SUMMARY_CHARS`] characters long.

use std::sync::LazyLock;

use credchain_process::bounded;

use regex_lite::Regex;
use serde_json::{Map, Value};

/// Longest summary of stderr put into a message, in characters.
pub(crate) const SUMMARY_CHARS: usize = 800;

/// azd's messages from `stderr`, cleaned (see the [module docs](self)).
pub(crate) fn summarize(stderr: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Map<String, Value>>(line) {
            Ok(object) => read_object(&object, &mut parts),
            Err(_) => push_text(line, &mut parts),
        }
    }
    bounded(&redact(&parts.join(" ")), SUMMARY_CHARS)
}

/// One JSON line: a console message, an error with a suggestion, or something else (ignored:
/// azd's other events carry no error).
fn read_object(object: &Map<String, Value>, parts: &mut Vec<String>) {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
    if text("type") == "consoleMessage" {
        if let Some(message) = object
            .get("data")
            .and_then(|d| d.get("message"))
            .and_then(Value::as_str)
        {
            push_text(message, parts);
        }
        return;
    }
    if object.contains_key("error") {
        // 1.24.2+: `message` is a one-sentence summary ("Login expired."), `error` the details.
        push_text(text("message"), parts);
        push_text(text("error"), parts);
        let suggestion = text("suggestion").trim();
        if !suggestion.is_empty() {
            parts.push(format!("Suggestion: {suggestion}"));
        }
        if let Some(links) = object.get("links").and_then(Value::as_array) {
            for url in links
                .iter()
                .filter_map(|l| l.get("url"))
                .filter_map(Value::as_str)
            {
                parts.push(format!("See {url}"));
            }
        }
    }
}

/// Keeps the non-blank lines of `text`, without azd's `ERROR:` prefix.
fn push_text(text: &str, parts: &mut Vec<String>) {
    for line in text.lines() {
        let line = strip_ansi(line);
        let line = line.trim();
        let line = line.strip_prefix("ERROR:").map_or(line, str::trim_start);
        if !line.is_empty() {
            parts.push(line.to_owned());
        }
    }
}

/// Removes `ESC [ … <letter>` colour sequences (azd strips them itself, a wrapper may not).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// JWT-shaped strings (what Entra issues as access and ID tokens).
static JWT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*").ok());

/// Hides JWT-shaped strings and escapes control characters, so the text is safe to log and to
/// print on a terminal. If the pattern could not be built, nothing is shown.
pub(crate) fn redact(text: &str) -> String {
    let Some(jwt) = JWT.as_ref() else {
        return "(azd's output hidden)".to_owned();
    };
    jwt.replace_all(text, "****")
        .chars()
        .flat_map(|c| {
            let keep = !c.is_control();
            let escaped: Vec<char> = if keep {
                vec![c]
            } else {
                c.escape_default().collect()
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "not logged in" line, as every azd 1.23–1.29 writes it.
    const NOT_LOGGED_IN: &str = "{\"type\":\"consoleMessage\",\"timestamp\":\"2026-11-27T15:20:31.123456789-08:00\",\"data\":{\"message\":\"\\nERROR: not logged in, run `azd auth login` to login\\n\"}}\n";

    #[test]
    fn console_messages_lose_their_json_and_prefix() {
        assert_eq!(
            summarize(NOT_LOGGED_IN),
            "not logged in, run `azd auth login` to login"
        );
    }

    #[test]
    fn the_empty_line_before_a_structured_error_is_skipped() {
        let stderr = "{\"type\":\"consoleMessage\",\"timestamp\":\"2026-11-27T15:20:31.5Z\",\"data\":{\"message\":\"\\n\"}}\n\
                      {\"error\":\"AADSTS70043: The refresh token has expired.\",\"suggestion\":\"login expired, run `azd auth login` to acquire a new token.\"}\n";
        assert_eq!(
            summarize(stderr),
            "AADSTS70043: The refresh token has expired. Suggestion: login expired, run `azd auth login` to acquire a new token."
        );
    }

    #[test]
    fn message_and_links_from_1_24_2() {
        let stderr = "{\"error\":\"AADSTS50005: blocked.\",\"message\":\"Reauthentication required.\",\"suggestion\":\"reauthentication required, run `azd auth login --use-device-code=false` to acquire a new token.\",\"links\":[{\"url\":\"https://aka.ms/azd/troubleshoot/conditional-access-policy\",\"title\":\"Conditional Access policy troubleshooting\"}]}\n";
        assert_eq!(
            summarize(stderr),
            "Reauthentication required. AADSTS50005: blocked. Suggestion: reauthentication required, run \
             `azd auth login --use-device-code=false` to acquire a new token. See \
             https://aka.ms/azd/troubleshoot/conditional-access-policy"
        );
    }

    #[test]
    fn plain_text_colours_and_tokens() {
        assert_eq!(
            summarize("Error: unknown flag: --claims\n"),
            "Error: unknown flag: --claims"
        );
        assert_eq!(summarize("\u{1b}[31mERROR: boom\u{1b}[0m\n"), "boom");
        assert_eq!(summarize("bad eyJhbGciOi.eyJzdWIiOi.c2ln here"), "bad **** here");
        assert_eq!(summarize("a\u{7}b"), "a\\u{7}b");
        assert_eq!(summarize("{\"type\":\"progress\"}\n"), "");
        assert_eq!(
            summarize("x".repeat(1000).as_str()).chars().count(),
            SUMMARY_CHARS + 1
        );
    }
}
