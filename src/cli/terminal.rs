//! Everything the CLI writes goes through here: stdout, whose write errors are reported, and
//! stderr, where every message has its control characters escaped.
//!
//! Messages can hold text from files and services (a `username` in VS Code's sign-in record,
//! `az`'s stderr, an argument the user typed), so a terminal escape in them must never reach the
//! terminal: [`clean`] is the one escaping rule, used by every printer, including doctor's report.

use std::fmt::Display;
use std::io::{self, Write};

use super::ExitStatus;

/// Escapes control characters (`ESC` → `\u{1b}`, `BEL` → `\u{7}`, a line break → `\n`), so text
/// from files or services cannot move the cursor or change colours.
pub(crate) fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`clean`] for a message of several lines (the chain's report): each line is escaped, and the
/// line breaks between them are kept.
pub(crate) fn clean_lines(text: &str) -> String {
    text.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// Prints `error: MESSAGE` on stderr, escaped.
pub(crate) fn error(message: impl Display) {
    to_stderr(&format!("error: {message}"));
}

/// Prints `message` (one or more lines) on stderr, escaped.
pub(crate) fn note(message: impl Display) {
    to_stderr(&message.to_string());
}

/// Writes an escaped message and a newline to stderr. A failing stderr cannot be reported
/// anywhere, so its error is dropped (`eprintln!` would panic instead).
fn to_stderr(message: &str) {
    let mut line = clean_lines(message);
    line.push('\n');
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Prints `text` and a newline (unless it ends with one) on stdout.
///
/// A reader that went away (`credchain token | head -c0`: a broken pipe) is not an error worth
/// reporting, so that counts as done. Any other write error (`> /dev/full`) is reported on stderr
/// and gives [`ExitStatus::Failed`], because the output the caller relies on is lost.
pub(crate) fn print_stdout(text: &str) -> Result<(), ExitStatus> {
    stdout_outcome(write_line(&mut io::stdout().lock(), text))
}

/// Writes `text`, a newline if it lacks one, and flushes.
fn write_line(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// What a stdout write's result means for the exit status (see [`print_stdout`]).
fn stdout_outcome(result: io::Result<()>) -> Result<(), ExitStatus> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            error(format_args!(
                "cannot write the output to stdout: {e}; check where stdout is redirected"
            ));
            Err(ExitStatus::Failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_control_characters() {
        assert_eq!(clean("plain `text` é"), "plain `text` é");
        assert_eq!(clean("a\u{1b}[31mb\nc\u{7}"), "a\\u{1b}[31mb\\nc\\u{7}");
        assert_eq!(clean("\u{9b}31m"), "\\u{9b}31m", "the 8-bit CSI too");
    }

    #[test]
    fn clean_lines_keeps_line_breaks_only() {
        assert_eq!(
            clean_lines("error: x\n  1. a\u{1b}]0;title\u{7}\r\n  2. b"),
            "error: x\n  1. a\\u{1b}]0;title\\u{7}\\r\n  2. b"
        );
    }

    #[test]
    fn write_line_adds_one_newline() {
        let mut out = Vec::new();
        write_line(&mut out, "tok").expect("write");
        write_line(&mut out, "{}\n").expect("write");
        assert_eq!(out, b"tok\n{}\n");
    }

    #[test]
    fn broken_pipe_is_done_other_errors_fail() {
        assert_eq!(stdout_outcome(Ok(())), Ok(()));
        assert_eq!(
            stdout_outcome(Err(io::Error::from(io::ErrorKind::BrokenPipe))),
            Ok(())
        );
        assert_eq!(
            stdout_outcome(Err(io::Error::from(io::ErrorKind::StorageFull))),
            Err(ExitStatus::Failed)
        );
    }
}
