//! Removing the request's secrets from text that came back from outside.
//!
//! A server or proxy that echoes the request shows a secret the way it was sent or re-encoded:
//! form-encoded (`Sup3r%2BSecret%2FValue%3D`), percent-encoded with `%20` for spaces, with
//! lower-case hex, or escaped inside a JSON string (`Sup3r+Secret\/Value=`). The [`Scrubber`]
//! replaces every one of those forms with `***` in messages and error sources.

use zeroize::Zeroizing;

use crate::form;

/// Secrets shorter than this are not scrubbed: replacing every occurrence of, say, a two-letter
/// password would mangle messages without hiding anything.
const MIN_SECRET_LEN: usize = 4;

/// The request's secrets, in every encoding they may come back in. Wiped on drop.
#[derive(Default)]
pub(crate) struct Scrubber {
    /// Longest first, so an encoding that contains another is replaced whole.
    needles: Vec<Zeroizing<String>>,
}

impl Scrubber {
    /// A scrubber for `secrets` (more can be added with [`add`](Self::add)).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut scrubber = Scrubber::default();
        for s in secrets {
            scrubber.add(s);
        }
        scrubber
    }

    /// Adds `secret` in every encoding it may be echoed in.
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        for needle in encodings(secret) {
            if !self.needles.iter().any(|n| **n == *needle) {
                self.needles.push(needle);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// `text` with every encoding of every secret replaced by `***`.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut out = Zeroizing::new(text.to_owned());
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                // The intermediate copies may hold other secrets: they are wiped as they drop.
                out = replace(&out, needle);
            }
        }
        std::mem::take(&mut *out)
    }
}

/// `text` with every `needle` (at least 4 bytes) replaced by `***`, built in one buffer that
/// never grows (the result is shorter), so no partial copy is left unwiped.
fn replace(text: &str, needle: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        out.push_str(&rest[..at]);
        out.push_str("***");
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// Raw; form-encoded; RFC 3986 percent-encoded; both with lower-case hex; JSON-escaped (also
/// with `\/`).
fn encodings(secret: &str) -> Vec<Zeroizing<String>> {
    let form = form::encode_value(secret);
    let percent = percent_encode(secret);
    let json = json_escape(secret);
    let json_slash = escape_slashes(&json);
    let form_lower = lower_hex(&form);
    let percent_lower = lower_hex(&percent);
    [
        Zeroizing::new(secret.to_owned()),
        form,
        form_lower,
        percent,
        percent_lower,
        json,
        json_slash,
    ]
    .into_iter()
    .filter(|n| !n.is_empty())
    .collect()
}

// Every encoder below allocates its worst-case size up front, so it never reallocates and
// leaves no unwiped partial copy of the secret.

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - . _ ~` as `%XX`.
fn percent_encode(s: &str) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Zeroizing::new(String::with_capacity(s.len() * 3));
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// The inside of the JSON string serde_json writes for `s` (no quotes).
fn json_escape(s: &str) -> Zeroizing<String> {
    // `\u00XX` (6 bytes) is the longest escape of one byte; 2 more for the quotes.
    let mut bytes = Zeroizing::new(Vec::with_capacity(s.len() * 6 + 2));
    if serde_json::to_writer(&mut *bytes, s).is_err() || bytes.len() < 2 {
        return Zeroizing::new(String::new());
    }
    let inner = bytes.get(1..bytes.len() - 1).unwrap_or_default();
    Zeroizing::new(String::from_utf8_lossy(inner).into_owned())
}

/// `s` with `/` escaped as `\/`, as some JSON writers do.
fn escape_slashes(s: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len() * 2));
    for c in s.chars() {
        if c == '/' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` with the two hex digits after every `%` in lower case.
fn lower_hex(s: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len()));
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            hex_left = usize::from(c == '%') * 2;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_is_scrubbed() {
        let scrub = Scrubber::new(["Sup3r+Secret/Value= ü\"x"]);
        for shown in [
            "Sup3r+Secret/Value= ü\"x",
            "Sup3r%2BSecret%2FValue%3D+%C3%BC%22x",
            "Sup3r%2bSecret%2fValue%3d+%c3%bc%22x",
            "Sup3r%2BSecret%2FValue%3D%20%C3%BC%22x",
            "Sup3r%2bSecret%2fValue%3d%20%c3%bc%22x",
            "Sup3r+Secret/Value= ü\\\"x",
            "Sup3r+Secret\\/Value= ü\\\"x",
        ] {
            let text = format!("echo: client_secret={shown}&scope=x");
            assert_eq!(scrub.clean(&text), "echo: client_secret=***&scope=x", "{shown}");
        }
    }

    #[test]
    fn short_secrets_are_left_alone_and_several_are_scrubbed() {
        let mut scrub = Scrubber::new(["abc"]);
        scrub.add("hunter22");
        scrub.add("pr0xy pw");
        assert_eq!(scrub.clean("abc hunter22 pr0xy+pw"), "abc *** ***");
        assert_eq!(scrub.clean("hunter22hunter22 x hunter2"), "****** x hunter2");
    }
}
