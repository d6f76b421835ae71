//! GNU's argmatch: an option value matches a word exactly or by an unambiguous prefix, and a
//! bad one gets `invalid argument 'x' for '--opt'` (or `ambiguous argument`) with the list of
//! valid words, synonyms on one line.

use cptree::{UsageError, quote_str};

/// Looks `arg` up in `table` (words in GNU's order, synonyms adjacent).
pub(crate) fn argmatch<T: Copy + PartialEq>(
    context: &str,
    arg: &str,
    table: &[(&str, T)],
) -> Result<T, UsageError> {
    if let Some((_, value)) = table.iter().find(|(word, _)| *word == arg) {
        return Ok(*value);
    }
    let mut found: Option<T> = None;
    let mut ambiguous = false;
    for (word, value) in table {
        // GNU compares the first strlen(arg) bytes: the empty word is a prefix of every
        // word, so `--preserve=,mode` is ambiguous, as GNU says.
        if word.starts_with(arg) {
            match found {
                None => found = Some(*value),
                Some(v) if v != *value => ambiguous = true,
                Some(_) => {}
            }
        }
    }
    match found {
        Some(value) if !ambiguous => Ok(value),
        _ => {
            let what = if ambiguous { "ambiguous" } else { "invalid" };
            let mut message =
                format!("{what} argument {} for {}\n", quote_str(arg), quote_str(context));
            message.push_str(&valid_list(table));
            Err(UsageError::new(message))
        }
    }
}

/// `Valid arguments are:` and one line per value, its synonyms joined by commas.
fn valid_list<T: Copy + PartialEq>(table: &[(&str, T)]) -> String {
    let mut out = String::from("Valid arguments are:");
    let mut last: Option<T> = None;
    for (word, value) in table {
        if last == Some(*value) {
            out.push_str(&format!(", {}", quote_str(word)));
        } else {
            out.push_str(&format!("\n  - {}", quote_str(word)));
        }
        last = Some(*value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(&str, u8)] = &[("none", 0), ("off", 0), ("nil", 2), ("numbered", 3)];

    #[test]
    fn exact_prefix_and_synonyms() {
        assert_eq!(argmatch("x", "off", TABLE).unwrap(), 0);
        assert_eq!(argmatch("x", "o", TABLE).unwrap(), 0);
        assert_eq!(argmatch("x", "nu", TABLE).unwrap(), 3);
        let q = quote_str;
        let err = argmatch("x", "n", TABLE).unwrap_err();
        let head = format!("ambiguous argument {} for {}\n", q("n"), q("x"));
        assert!(err.message.starts_with(&head), "{}", err.message);
        let tail =
            format!("  - {}, {}\n  - {}\n  - {}", q("none"), q("off"), q("nil"), q("numbered"));
        assert!(err.message.ends_with(&tail), "{}", err.message);
        let err = argmatch("x", "", TABLE).unwrap_err();
        assert!(err.message.starts_with(&format!("ambiguous argument {} for", q(""))));
        assert_eq!(argmatch("x", "", &[("one", 1), ("uno", 1)]).unwrap(), 1);
        let err = argmatch("x", "zz", TABLE).unwrap_err();
        assert!(err.message.starts_with(&format!("invalid argument {}", q("zz"))));
    }
}
