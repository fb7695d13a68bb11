//! Byte spans and the source files they point into.

use std::sync::Arc;

/// A byte range in one source file.
///
/// Spans are position metadata: they do not take part in equality, so two AST
/// nodes are equal when they say the same thing wherever they were written. This
/// is what lets `parse(format(ast)) == ast` hold.
#[derive(Clone, Copy, Debug, Default, Eq)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    // Consistent with `PartialEq`: every span is equal, so all hash alike.
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span { start: clamp(start), end: clamp(end.max(start)) }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// Moves the span by `offset` bytes (for text embedded in another file).
    pub fn shift(self, offset: usize) -> Span {
        Span::new(self.start as usize + offset, self.end as usize + offset)
    }
}

/// A named text a span points into: a rule file, a config file, an inline text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
}

impl SourceFile {
    /// A source from its display name (usually a path) and text.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile { name: name.into(), text: text.into() }
    }

    /// The display name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of a byte offset. An offset past
    /// the end is placed at the end; an offset inside a character at its start.
    pub fn line_column(&self, offset: usize) -> (u32, u32) {
        let text = self.text();
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        (to_u32(line), to_u32(column))
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> &str {
        self.text().split('\n').nth(line.saturating_sub(1) as usize).map_or("", |l| l.strip_suffix('\r').unwrap_or(l))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let f = SourceFile::new("x", "ab\nçd\n");
        assert_eq!(f.line_column(0), (1, 1));
        assert_eq!(f.line_column(3), (2, 1));
        assert_eq!(f.line_column(5), (2, 2), "ç is two bytes, one column");
        assert_eq!(f.line_column(99), (3, 1));
        assert_eq!(f.line_text(2), "çd");
    }

    #[test]
    fn spans_compare_equal_whatever_their_position() {
        assert_eq!(Span::new(1, 2), Span::new(5, 9));
    }
}
