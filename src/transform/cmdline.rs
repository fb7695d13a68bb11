//! `cmd_line`: undoes common shell-evasion tricks (ModSecurity's
//! `t:cmdLine`).
//!
//! # Reference
//! ```text
//! transform url_decode, cmd_line
//! ```
//! In one pass:
//! - deletes `\`, `"`, `'` and `^` (`c^at /e"t"c/pa\sswd` is `cat/etc/passwd`);
//! - reads `,` and `;` as spaces;
//! - compresses each run of whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`,
//!   and the `,` / `;` above) to one space, and deletes the run entirely
//!   before `/` or `(`;
//! - lowercases ASCII letters.
//!
//! Deleted characters do not break a run: `a "" b` is `a b`.
//!
//! # Edge cases
//! - A run at the start or end of the value stays one space (no trimming),
//!   as in ModSecurity. ModSecurity's run set lacks `\v` and `\f`; shells do
//!   not split on them either, but treating them as spaces only makes more
//!   evasions match.
//! - Bytes >= 0x80 are copied unchanged.
//! - Fast path: input already in normal form returns `false`; idempotent;
//!   output length <= input length.

use super::common::is_space;

/// `cmd_line`.
pub(super) fn cmd_line(input: &[u8], out: &mut Vec<u8>) -> bool {
    if is_normal(input) {
        return false;
    }
    normalize(input, out);
    true
}

/// True if `normalize` would give `input` back.
fn is_normal(input: &[u8]) -> bool {
    let mut after_space = false;
    for &b in input {
        match b {
            b'\\' | b'"' | b'\'' | b'^' | b',' | b';' | b'A'..=b'Z' => return false,
            b' ' if after_space => return false,
            b' ' => after_space = true,
            b'/' | b'(' if after_space => return false,
            _ if is_space(b) => return false,
            _ => after_space = false,
        }
    }
    true
}

/// Writes the normal form of `input` into `out`.
pub(super) fn normalize(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut pending_space = false;
    for &b in input {
        match b {
            b'\\' | b'"' | b'\'' | b'^' => {}
            b',' | b';' => pending_space = true,
            _ if is_space(b) => pending_space = true,
            b'/' | b'(' => {
                pending_space = false;
                out.push(b);
            }
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b.to_ascii_lowercase());
            }
        }
    }
    if pending_space {
        out.push(b' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn cmd_line_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"cat /etc/passwd", b"cat/etc/passwd"),
            (br#"c^at /e"t"c/pa\sswd"#, b"cat/etc/passwd"),
            (b"C'A'T  /ETC/PASSWD", b"cat/etc/passwd"),
            (b"ping,-c,1;id", b"ping -c 1 id"),
            (b"system ( 'id' )", b"system( id )"),
            (b"a \"\" b", b"a b"),
            (b"  ls  ", b" ls "),
            (b"a\t\r\n\x0b\x0cb", b"a b"),
            (b"a ,; /b", b"a/b"),
            (b"echo \\\"hi\\\"", b"echo hi"),
            (b"\xc3\x89X", b"\xc3\x89x"),
            (b"already normal", b"already normal"),
        ];
        assert_table(cmd_line, cases);
    }
}
