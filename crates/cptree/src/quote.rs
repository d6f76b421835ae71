//! GNU's `shell-escape-always` quoting of file names in messages (gnulib quotearg):
//! `'a b'`, `"q'uote"`, `'nl'$'\n''x'`, and non-printable bytes as `$'\377'`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

/// Quotes `name` the way GNU cp's `quoteaf` does, for the current locale's character set.
pub fn quote(name: impl AsRef<OsStr>) -> String {
    quote_bytes(name.as_ref().as_bytes(), utf8_locale())
}

/// GNU's `quotef` (shell-escape style): quotes only names the shell would need quoted.
pub(crate) fn quote_if_needed(name: impl AsRef<OsStr>) -> String {
    let bytes = name.as_ref().as_bytes();
    let safe = |(i, &b): (usize, &u8)| {
        b.is_ascii_alphanumeric()
            || b"%+,-./:@_".contains(&b)
            || (i > 0 && (b == b'#' || b == b'~'))
    };
    if !bytes.is_empty() && bytes.iter().enumerate().all(safe) {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        quote(name)
    }
}

/// GNU's `quote`, for option values in messages: `'x'`, or `‘x’` in a UTF-8 locale.
pub fn quote_str(text: &str) -> String {
    if utf8_locale() { format!("\u{2018}{text}\u{2019}") } else { format!("'{text}'") }
}

/// Whether the locale (LC_ALL, then LC_CTYPE, then LANG) uses UTF-8, as glibc resolves it.
fn utf8_locale() -> bool {
    static UTF8: OnceLock<bool> = OnceLock::new();
    *UTF8.get_or_init(|| {
        let value = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        let value = value.to_string_lossy().to_ascii_lowercase();
        value.contains("utf-8") || value.contains("utf8")
    })
}

/// One unit of the name: a printable character (one or more bytes) or a byte to escape.
enum Unit<'a> {
    Plain(&'a [u8], bool),
    Escape(u8),
}

fn quote_bytes(name: &[u8], utf8: bool) -> String {
    if name.is_empty() {
        return "''".to_string();
    }
    let units = split_units(name, utf8);
    let has_single_quote = name.contains(&b'\'');
    let all_compat = units.iter().all(|u| matches!(u, Unit::Plain(_, true)));
    if has_single_quote && all_compat {
        // Every character means the same inside "..." for C and the shell: GNU prefers it.
        let mut out = String::from("\"");
        out.push_str(&String::from_utf8_lossy(name));
        out.push('"');
        return out;
    }
    let mut out = String::from("'");
    let mut in_escape = false;
    for unit in units {
        match unit {
            Unit::Escape(byte) => {
                if !in_escape {
                    out.push_str("'$'");
                    in_escape = true;
                }
                push_escape(&mut out, byte);
            }
            Unit::Plain(b"'", _) => {
                // Closes whichever quoting is open, an escaped quote, reopens '...'.
                out.push_str("'\\''");
                in_escape = false;
            }
            Unit::Plain(bytes, _) => {
                if in_escape {
                    out.push_str("''");
                    in_escape = false;
                }
                // Plain units are ASCII or whole valid UTF-8 sequences.
                out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
            }
        }
    }
    out.push('\'');
    out
}

/// Splits a name into printable characters (with gnulib's "C and shell quote compatible"
/// flag) and bytes that need a `$'...'` escape.
fn split_units(name: &[u8], utf8: bool) -> Vec<Unit<'_>> {
    let mut units = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        if b.is_ascii() {
            if b.is_ascii_graphic() || b == b' ' {
                let compat = ascii_compat(b, i, name.len());
                units.push(Unit::Plain(&name[i..i + 1], compat));
            } else {
                units.push(Unit::Escape(b));
            }
            i += 1;
            continue;
        }
        match utf8.then(|| utf8_char_at(&name[i..])).flatten() {
            Some((ch, len)) if !ch.is_control() => {
                units.push(Unit::Plain(&name[i..i + len], true));
                i += len;
            }
            _ => {
                units.push(Unit::Escape(b));
                i += 1;
            }
        }
    }
    units
}

/// gnulib's `c_and_shell_quote_compat` for a printable ASCII byte at `index` of a name of `len`.
fn ascii_compat(b: u8, index: usize, len: usize) -> bool {
    match b {
        b'#' | b'~' => index == 0,
        b'{' | b'}' => len == 1,
        b'!' | b'"' | b'$' | b'&' | b'(' | b')' | b'*' | b';' | b'<' | b'=' | b'>' | b'['
        | b'\\' | b'^' | b'`' | b'|' | b'?' => false,
        _ => true,
    }
}

/// The first UTF-8 character of `bytes`, if they start with a valid one, and its length.
fn utf8_char_at(bytes: &[u8]) -> Option<(char, usize)> {
    let len = match bytes[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(bytes.get(..len)?).ok()?;
    s.chars().next().map(|c| (c, len))
}

fn push_escape(out: &mut String, byte: u8) {
    let letter = match byte {
        0x07 => Some('a'),
        0x08 => Some('b'),
        0x0C => Some('f'),
        b'\n' => Some('n'),
        b'\r' => Some('r'),
        b'\t' => Some('t'),
        0x0B => Some('v'),
        _ => None,
    };
    match letter {
        Some(c) => {
            out.push('\\');
            out.push(c);
        }
        None => out.push_str(&format!("\\{byte:03o}")),
    }
}

#[cfg(test)]
mod tests {
    use super::quote_bytes;

    #[test]
    fn quotes_like_gnu() {
        let cases: &[(&[u8], &str)] = &[
            (b"a", "'a'"),
            (b"", "''"),
            (b"a b", "'a b'"),
            (b"q'uote", "\"q'uote\""),
            (b"it's$x", "'it'\\''s$x'"),
            (b"nl\nx", "'nl'$'\\n''x'"),
            (b"end\n", "'end'$'\\n'"),
            (b"\xff", "''$'\\377'"),
            (b"a\x01b", "'a'$'\\001''b'"),
            (b"-rf", "'-rf'"),
            (b"#it's", "\"#it's\""),
            (b"it's#x", r"'it'\''s#x'"),
            (b"a{b'", r"'a{b'\'''"),
            (b"x\n'y", r"'x'$'\n'\''y'"),
        ];
        for (input, want) in cases {
            assert_eq!(quote_bytes(input, false), *want, "input {input:?}");
        }
    }

    #[test]
    fn utf8_is_literal_only_in_a_utf8_locale() {
        assert_eq!(quote_bytes("é".as_bytes(), true), "'é'");
        assert_eq!(quote_bytes("é".as_bytes(), false), "''$'\\303\\251'");
    }
}
