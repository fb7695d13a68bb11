//! `replace_comments`, `remove_comments` and `remove_comments_char`.
//!
//! # Reference
//! ```text
//! transform url_decode, replace_comments
//! transform remove_comments, lowercase
//! ```
//! - `replace_comments`: each C-style comment `/* ... */` becomes one space
//!   (`1/**/or/**/1` is `1 or 1`); an unterminated `/*` runs to the end of
//!   the value and also becomes one space. Comments do not nest: the first
//!   `*/` after `/*` ends it (`/*/` does not).
//! - `remove_comments`: drops, without replacement, `/* ... */` and
//!   `<!-- ... -->` (each unterminated one runs to the end), and `--` or `#`
//!   line comments up to the end of the line; the `\n` itself is kept
//!   (`1--x\n2` is `1\n2`). Each opener is closed only by its own closer.
//!   ModSecurity drops everything after `--` / `#` (and leaves a space after
//!   an unterminated block comment); ending at the newline matches SQL's own
//!   line comments and keeps later lines of multi-line values visible.
//! - `remove_comments_char`: drops the marker sequences themselves, left to
//!   right, longest first: `<!--`, `-->`, `/*`, `*/`, `--`, `#`; the text
//!   between them is kept (`/*!50000select*/` is `!50000select`).
//!
//! # Edge cases
//! - `--` counts even without a following space (`1--1` is `1`), as in
//!   ModSecurity; this over-matches MySQL, which needs `-- `, but a WAF
//!   prefers that to missing a comment.
//! - `remove_comments_char` is not idempotent (`//**` is `/*`); apply it twice
//!   if that matters.
//! - Fast path: input with no marker is returned unchanged (`false`).
//! - Output length <= input length.

use super::common::find;

/// `replace_comments`.
pub(super) fn replace_comments(input: &[u8], out: &mut Vec<u8>) -> bool {
    if find(input, b"/*").is_none() {
        return false;
    }
    replace_c(input, out);
    true
}

/// Writes `input` with each `/* */` comment as a space into `out`.
pub(super) fn replace_c(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if input[i..].starts_with(b"/*") {
            out.push(b' ');
            i = match find(&input[i + 2..], b"*/") {
                Some(p) => i + 2 + p + 2,
                None => input.len(),
            };
        } else {
            out.push(b);
            i += 1;
        }
    }
}

/// `remove_comments`.
pub(super) fn remove_comments(input: &[u8], out: &mut Vec<u8>) -> bool {
    // `<!--` contains `--`, so these three find every opener.
    if !input.contains(&b'#') && find(input, b"--").is_none() && find(input, b"/*").is_none() {
        return false;
    }
    remove_all(input, out);
    true
}

/// Writes `input` without its comments into `out`.
pub(super) fn remove_all(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let rest = &input[i..];
        let skip_to = if rest.starts_with(b"/*") {
            find(&rest[2..], b"*/").map(|p| 2 + p + 2)
        } else if rest.starts_with(b"<!--") {
            find(&rest[4..], b"-->").map(|p| 4 + p + 3)
        } else if rest.starts_with(b"--") || b == b'#' {
            // Up to, not including, the newline.
            rest.iter().position(|&c| c == b'\n')
        } else {
            out.push(b);
            i += 1;
            continue;
        };
        match skip_to {
            Some(n) => i += n,
            None => break,
        }
    }
}

/// `remove_comments_char`.
pub(super) fn remove_comments_char(input: &[u8], out: &mut Vec<u8>) -> bool {
    // `<!--` and `-->` contain `--`.
    let any = input.contains(&b'#') || input.windows(2).any(|w| matches!(w, b"/*" | b"*/" | b"--"));
    if !any {
        return false;
    }
    remove_markers(input, out);
    true
}

/// Writes `input` without comment markers into `out`.
pub(super) fn remove_markers(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let rest = &input[i..];
        let marker = if rest.starts_with(b"<!--") {
            4
        } else if rest.starts_with(b"-->") {
            3
        } else if rest.starts_with(b"/*") || rest.starts_with(b"*/") || rest.starts_with(b"--") {
            2
        } else {
            usize::from(b == b'#')
        };
        if marker == 0 {
            out.push(b);
            i += 1;
        } else {
            i += marker;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn replace_comments_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"no comment", b"no comment"),
            (b"1/**/or/**/1", b"1 or 1"),
            (b"a/* x */b", b"a b"),
            (b"a/* unterminated", b"a "),
            (b"a/*/b", b"a "),
            (b"a/*/*/b*/c", b"a b*/c"),
            (b"a*/b", b"a*/b"),
            (b"a/*!50000select*/b", b"a b"),
            (b"-- x # y <!-- z -->", b"-- x # y <!-- z -->"),
            (b"/*", b" "),
            (b"\xff/*\xff*/\xff", b"\xff \xff"),
        ];
        assert_table(replace_comments, cases);
    }

    #[test]
    fn remove_comments_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"no comment", b"no comment"),
            (b"1/**/or/**/1", b"1or1"),
            (b"a/* unterminated", b"a"),
            (b"a<!-- x -->b", b"ab"),
            (b"a<!-- unterminated", b"a"),
            (b"a<!-- x */ b -->c", b"ac"),
            (b"a/* x --> b */c", b"ac"),
            (b"1 or 1=1-- x", b"1 or 1=1"),
            (b"1 or 1=1# x", b"1 or 1=1"),
            (b"1--x\n2", b"1\n2"),
            (b"1#x\r\n2#y", b"1\n2"),
            (b"1--1", b"1"),
            (b"a/*#*/b", b"ab"),
            (b"a-b", b"a-b"),
            (b"a-->b", b"a"),
            (b"a*/b", b"a*/b"),
        ];
        assert_table(remove_comments, cases);
    }

    #[test]
    fn remove_comments_char_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"no comment", b"no comment"),
            (b"1/**/or/**/1", b"1or1"),
            (b"/*!50000select*/", b"!50000select"),
            (b"a<!--b-->c", b"abc"),
            (b"a--b#c", b"abc"),
            (b"a-b", b"a-b"),
            (b"a--->b", b"a->b"),
            (b"a---->b", b"ab"),
            (b"//**", b"/*"),
            (b"*/*", b"*"),
            (b"<!-", b"<!-"),
            (b"#\xff#", b"\xff"),
        ];
        assert_table(remove_comments_char, cases);
    }
}
