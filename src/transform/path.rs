//! `normalize_path` and `normalize_path_win`.
//!
//! # Reference
//! ```text
//! transform url_decode_uni, normalize_path_win
//! ```
//! - Empty segments (`//`) and `.` segments are dropped; `..` drops the
//!   segment before it (`/a/b/../c` is `/a/c`).
//! - Never above the root: a `..` with nothing left to drop is itself dropped
//!   (`/../../etc/passwd` is `/etc/passwd`), for relative paths too
//!   (`../../etc/passwd` is `etc/passwd`), so the result shows what the path
//!   reaches, not how. Rules that look for traversal (`../`) must match before
//!   this transform.
//! - A leading `/` is kept. A trailing `/` is kept, and so is the directory
//!   meaning of a final `.` or `..` (`/a/b/.` is `/a/b/`, `/a/b/..` is `/a/`),
//!   except that a relative path that resolves to nothing is empty (`a/..`).
//! - `normalize_path_win` first reads every `\` as `/` (and writes `/`):
//!   `C:\a\..\b` is `C:/b`. A drive letter is an ordinary first segment, so
//!   `C:\..\x` is `x`.
//!
//! # Edge cases
//! - Percent-encoded dots and slashes (`%2e%2e%2f`) are not decoded: apply
//!   `url_decode` first.
//! - Segments are bytes: `...` and `.x` are ordinary names; NUL and invalid
//!   UTF-8 are copied.
//! - Empty input is returned unchanged (`false`); otherwise `true` (the
//!   value may be unchanged).
//! - Idempotent; output length <= input length; linear time (a `..` only
//!   removes bytes written once).
//!
//! # `normalize_path_rel` and `normalize_path_rel_win` (relative paths keep `..`)
//! ModSecurity's `t:normalizePath` / `t:normalizePathWin`, for the SecLang
//! front end: the same, except that a relative path keeps the leading `..`
//! segments it cannot resolve (`../../etc/passwd` and `a/../../b` give
//! `../../etc/passwd` and `../b`). CRS data files list names such as
//! `/.history`, which `../.history` must still contain after the transform.
//! An absolute path still never goes above its root.

/// `normalize_path`.
pub(super) fn normalize_path(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return false;
    }
    normalize(input, out, false);
    true
}

/// `normalize_path_win`.
pub(super) fn normalize_path_win(input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return false;
    }
    normalize(input, out, true);
    true
}

/// `normalize_path_rel` (`win`: `normalize_path_rel_win`).
pub(super) fn normalize_path_rel(input: &[u8], out: &mut Vec<u8>, win: bool) -> bool {
    if input.is_empty() {
        return false;
    }
    normalize_keeping_parents(input, out, win, true);
    true
}

/// Writes the normalised `input` into `out`; `win` makes `\` a separator.
pub(super) fn normalize(input: &[u8], out: &mut Vec<u8>, win: bool) {
    normalize_keeping_parents(input, out, win, false);
}

/// [`normalize`]; with `keep_parents`, a relative path keeps the `..`
/// segments that have nothing left to drop (ModSecurity's behaviour).
pub(super) fn normalize_keeping_parents(input: &[u8], out: &mut Vec<u8>, win: bool, keep_parents: bool) {
    let is_sep = |b: &u8| *b == b'/' || (win && *b == b'\\');
    out.clear();
    out.reserve(input.len());
    if input.first().is_some_and(is_sep) {
        out.push(b'/');
    }
    // `out[..root]` is the root `/` (if any); segments after it are joined
    // by `/`, so a `..` truncates back to the last `/` after the root.
    let root = out.len();
    // Kept leading `..` segments of a relative path: `out[..parents]`.
    let keep_parents = keep_parents && root == 0;
    let mut parents = 0;
    let mut last: &[u8] = b"";
    for segment in input.split(is_sep) {
        last = segment;
        match segment {
            b"" | b"." => {}
            b".." if keep_parents && out.len() == parents => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                parents = out.len();
            }
            b".." => {
                let keep = out[root..].iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(root + keep);
            }
            _ => {
                if out.len() > root {
                    out.push(b'/');
                }
                out.extend_from_slice(segment);
            }
        }
    }
    // A final kept `..` needs no `/` to read as a directory.
    let directory = matches!(last, b"" | b".") || (last == b".." && out.len() != parents);
    if directory && out.len() > root {
        out.push(b'/');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::common::assert_table;

    #[test]
    fn normalize_path_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"/", b"/"),
            (b"//", b"/"),
            (b"/a/b/c", b"/a/b/c"),
            (b"/a//b///c", b"/a/b/c"),
            (b"/a/./b/.", b"/a/b/"),
            (b"/a/b/../c", b"/a/c"),
            (b"/a/b/..", b"/a/"),
            (b"/a/b/../..", b"/"),
            (b"/../../etc/passwd", b"/etc/passwd"),
            (b"../../etc/passwd", b"etc/passwd"),
            (b"a/../../b", b"b"),
            (b"a/..", b""),
            (b".", b""),
            (b"./", b""),
            (b"..", b""),
            (b"a/", b"a/"),
            (b"a/b/", b"a/b/"),
            (b"/a/...", b"/a/..."),
            (b"/a/.b/c.", b"/a/.b/c."),
            (b"/a/%2e%2e/b", b"/a/%2e%2e/b"),
            (b"a\\..\\b", b"a\\..\\b"),
            (b"/x/\xff/../\x00", b"/x/\x00"),
        ];
        assert_table(normalize_path, cases);
    }

    #[test]
    fn normalize_path_win_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"C:\\a\\..\\b", b"C:/b"),
            (b"C:\\..\\x", b"x"),
            (b"\\\\server\\share\\.\\f", b"/server/share/f"),
            (b"a\\b/c\\", b"a/b/c/"),
            (b"..\\..\\windows\\win.ini", b"windows/win.ini"),
            (b"/a\\../b", b"/b"),
        ];
        assert_table(normalize_path_win, cases);
    }

    #[test]
    fn normalize_path_rel_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"../.history", b"../.history"),
            (b"../../etc/passwd", b"../../etc/passwd"),
            (b"./../a", b"../a"),
            (b"a/../../b", b"../b"),
            (b"../a/../../b", b"../../b"),
            (b"../a/..", b".."),
            (b"..", b".."),
            (b"../.", b"../"),
            (b"a/b/../c", b"a/c"),
            (b"/../../etc/passwd", b"/etc/passwd"),
            (b"/a/b/../c", b"/a/c"),
        ];
        assert_table(|i: &[u8], o: &mut Vec<u8>| normalize_path_rel(i, o, false), cases);
        let win: &[(&[u8], &[u8])] =
            &[(b"..\\..\\windows\\win.ini", b"../../windows/win.ini"), (b"C:\\..\\..\\x", b"../x")];
        assert_table(|i: &[u8], o: &mut Vec<u8>| normalize_path_rel(i, o, true), win);
    }
}
