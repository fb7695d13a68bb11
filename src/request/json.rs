//! A streaming JSON (RFC 8259) parser that flattens a document into
//! [`Origin::Json`] argument pairs.
//!
//! Reference:
//! - Every scalar becomes one pair: the name is the dotted path of object keys
//!   and array indices from the root, the value its text.
//!   `{"user":{"name":"al"},"items":[{"sku":7}],"tags":["a",true,null]}` gives
//!   `user.name`=`al`, `items.0.sku`=`7`, `tags.0`=`a`, `tags.1`=`true`,
//!   `tags.2`=``. Keys are used as they are: `{"a.b":1}` is `a.b`=`1`, and
//!   `{"":1}` has the empty name, as does a scalar at the top level.
//! - Strings are unescaped (`\uXXXX` to UTF-8, surrogate pairs joined, a lone
//!   surrogate becomes U+FFFD); invalid UTF-8 passes through as sent. Numbers
//!   keep their text (`-0.5e+10`), `true`/`false` their text, `null` is empty.
//! - An empty object or array under a key or index gives one pair with its path
//!   and the empty value, so `{"a":{}}` still shows `a`. The top-level `{}` or
//!   `[]` gives nothing.
//! - Duplicate keys give one pair each, in document order.
//!
//! Errors (the pairs found before stay; the offset is the byte where parsing
//! stopped): unexpected bytes (`expected ...`), an unterminated string (offset of
//! its opening quote), a control character in a string, an invalid escape, an
//! invalid number or literal, trailing data after the top-level value
//! (whitespace is fine), and an empty input.
//!
//! Limits:
//! - Nesting deeper than [`ParseLimits::max_json_depth`] is skipped: its syntax
//!   is still checked but no pair is reported, and `limit_exceeded` is set. The
//!   skipped levels cost one bit each in a fixed [`SKIP_LEVELS`]-bit stack; a
//!   document nested deeper still stops there with `limit_exceeded` only.
//! - When [`Fields::push_arg`] refuses a pair, parsing stops (`limit_exceeded`).
//! - Names repeat their path, so their total size could grow with the square of
//!   the input (`{"<long key>":[0,0,0,...]}`). To keep time and memory linear,
//!   the names of one document may use at most [`NAME_BUDGET_FACTOR`] times the
//!   input length plus [`NAME_BUDGET_SLACK`] bytes; past that parsing stops
//!   with `limit_exceeded`.
//!
//! Design: no recursion. One [`Level`] per open container is kept in
//! [`Fields::json_levels`] (its kind, its child count and where its path ends),
//! and the path of the current value is kept whole in [`Fields::work`]
//! (`items.17.sku`): a key or index replaces the innermost segment by a
//! truncation and an append, closing a container truncates to its own path,
//! and a pair's name is one copy of the buffer.

use super::fields::{ByteRange, Fields, Origin, ParseError, ParseLimits, ParseStatus};

/// Nesting levels beyond [`ParseLimits::max_json_depth`] whose brackets are still
/// matched while their content is skipped.
pub(crate) const SKIP_LEVELS: usize = 256;

/// The names of one document may use this many bytes per input byte...
pub(crate) const NAME_BUDGET_FACTOR: usize = 16;

/// ... plus this many bytes, so small documents never meet the budget.
pub(crate) const NAME_BUDGET_SLACK: usize = 64 * 1024;

/// An open container whose values are reported (see [`Fields::json_levels`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Level {
    /// The length of the path (in [`Fields::work`]) of the container itself:
    /// its children's segments follow it.
    base: u32,
    /// Children so far: keys of an object, elements of an array (the next index).
    count: u32,
    /// `{` or `[`.
    kind: u8,
}

/// What the parser expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Any value.
    Value,
    /// The first key of an object, or `}`.
    FirstKey,
    /// A key, after a `,` in an object.
    Key,
    /// The `:` after a key.
    Colon,
    /// The first element of an array, or `]`.
    FirstElement,
    /// A `,` or the end of the current container.
    Next,
    /// Nothing but whitespace: the top-level value is complete.
    Done,
}

/// Why parsing stopped early.
enum Stop {
    /// Malformed input.
    Error(ParseError),
    /// A limit was reached.
    Limit,
}

/// A [`Stop::Error`] with `message` at `offset`.
fn error(message: &'static str, offset: usize) -> Stop {
    Stop::Error(ParseError { message, offset })
}

/// Parses one JSON document into [`Origin::Json`] argument pairs (see the module
/// docs for names, values, errors and limits).
pub(crate) fn parse_json(input: &[u8], limits: &ParseLimits, fields: &mut Fields) -> ParseStatus {
    let mut status = ParseStatus::default();
    fields.work.clear();
    fields.json_levels.clear();
    let mut parser = Parser {
        input,
        pos: 0,
        max_depth: limits.max_json_depth,
        skipped: 0,
        skip_kinds: [0; SKIP_LEVELS / 64],
        name_budget: input.len().saturating_mul(NAME_BUDGET_FACTOR).saturating_add(NAME_BUDGET_SLACK),
        limit_exceeded: false,
    };
    let result = parser.run(fields);
    status.limit_exceeded = parser.limit_exceeded;
    match result {
        Ok(()) => {}
        Err(Stop::Error(e)) => status.error = Some(e),
        Err(Stop::Limit) => status.limit_exceeded = true,
    }
    fields.work.clear();
    fields.json_levels.clear();
    status
}

/// The parser's state besides what lives in `fields.work`.
struct Parser<'i> {
    /// The document.
    input: &'i [u8],
    /// Offset of the next byte to read.
    pos: usize,
    /// [`ParseLimits::max_json_depth`].
    max_depth: usize,
    /// Open containers beyond `max_depth`, skipped.
    skipped: usize,
    /// Kinds of the skipped containers, one bit each: set for arrays.
    skip_kinds: [u64; SKIP_LEVELS / 64],
    /// Bytes the names may still use.
    name_budget: usize,
    /// Set when a container was skipped for its depth.
    limit_exceeded: bool,
}

impl Parser<'_> {
    /// Runs the state machine to the end of the input.
    fn run(&mut self, fields: &mut Fields) -> Result<(), Stop> {
        let mut state = State::Value;
        loop {
            while self.peek().is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
                self.pos += 1;
            }
            let Some(b) = self.peek() else {
                return match state {
                    State::Done => Ok(()),
                    _ => Err(error("unexpected end of json input", self.pos)),
                };
            };
            state = match state {
                State::Value => self.value(b, fields)?,
                State::FirstKey | State::Key => match b {
                    b'}' if state == State::FirstKey => self.close(fields)?,
                    b'"' => {
                        self.key(fields)?;
                        State::Colon
                    }
                    _ if state == State::FirstKey => {
                        return Err(error("expected a string key or '}'", self.pos));
                    }
                    _ => return Err(error("expected a string key", self.pos)),
                },
                State::Colon if b == b':' => {
                    self.pos += 1;
                    State::Value
                }
                State::Colon => return Err(error("expected ':'", self.pos)),
                State::FirstElement if b == b']' => self.close(fields)?,
                State::FirstElement => {
                    self.begin_element(fields);
                    State::Value
                }
                State::Next => {
                    let in_array = self.top_is_array(fields);
                    match b {
                        b',' if in_array => {
                            self.pos += 1;
                            self.begin_element(fields);
                            State::Value
                        }
                        b',' => {
                            self.pos += 1;
                            State::Key
                        }
                        b']' if in_array => self.close(fields)?,
                        b'}' if !in_array => self.close(fields)?,
                        _ if in_array => return Err(error("expected ',' or ']'", self.pos)),
                        _ => return Err(error("expected ',' or '}'", self.pos)),
                    }
                }
                State::Done => return Err(error("trailing data after the json value", self.pos)),
            };
        }
    }

    /// The byte at the current position.
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// True when the values reported now would be skipped for their depth.
    fn skipping(&self) -> bool {
        self.skipped > 0
    }

    /// The state after a complete value.
    fn after_value(&self, fields: &Fields) -> State {
        if fields.json_levels.is_empty() && self.skipped == 0 { State::Done } else { State::Next }
    }

    /// True when the innermost open container is an array.
    fn top_is_array(&self, fields: &Fields) -> bool {
        if self.skipping() {
            let level = self.skipped - 1;
            (self.skip_kinds[level / 64] >> (level % 64)) & 1 == 1
        } else {
            fields.json_levels.last().is_some_and(|l| l.kind == b'[')
        }
    }

    /// Parses a value starting with `b` at the current position.
    fn value(&mut self, b: u8, fields: &mut Fields) -> Result<State, Stop> {
        match b {
            b'{' | b'[' => {
                self.open(b, fields)?;
                Ok(if b == b'{' { State::FirstKey } else { State::FirstElement })
            }
            b'"' => {
                let start = fields.mark();
                let out = if self.skipping() { None } else { Some(&mut fields.bytes) };
                match scan_string(self.input, self.pos, out) {
                    Ok(end) => self.pos = end,
                    Err(e) => {
                        fields.bytes.truncate(start as usize);
                        return Err(Stop::Error(e));
                    }
                }
                let value = fields.range_from(start);
                self.emit(value, fields)?;
                Ok(self.after_value(fields))
            }
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.pos = scan_number(self.input, start).map_err(Stop::Error)?;
                if !self.skipping() {
                    let value = fields.push_bytes(&self.input[start..self.pos]);
                    self.emit(value, fields)?;
                }
                Ok(self.after_value(fields))
            }
            b't' | b'f' | b'n' => {
                let literal: &[u8] = match b {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if !self.input[self.pos..].starts_with(literal) {
                    return Err(error("invalid literal", self.pos));
                }
                self.pos += literal.len();
                if !self.skipping() {
                    let value = if b == b'n' { fields.range_from(fields.mark()) } else { fields.push_bytes(literal) };
                    self.emit(value, fields)?;
                }
                Ok(self.after_value(fields))
            }
            _ => Err(error("expected a json value", self.pos)),
        }
    }

    /// Opens the container `kind` (`{` or `[`) at the current position: a new
    /// [`Level`], or a skipped level when it is too deep.
    fn open(&mut self, kind: u8, fields: &mut Fields) -> Result<(), Stop> {
        self.pos += 1;
        if self.skipping() || fields.json_levels.len() >= self.max_depth {
            self.limit_exceeded = true;
            if self.skipped == SKIP_LEVELS {
                return Err(Stop::Limit);
            }
            let (word, bit) = (self.skipped / 64, self.skipped % 64);
            if kind == b'[' {
                self.skip_kinds[word] |= 1 << bit;
            } else {
                self.skip_kinds[word] &= !(1 << bit);
            }
            self.skipped += 1;
            return Ok(());
        }
        fields.json_levels.push(Level { base: to_u32(fields.work.len()), count: 0, kind });
        Ok(())
    }

    /// Closes the innermost container at the current position (its closing
    /// bracket was checked by the caller). An empty tracked container under a
    /// key or index is reported with the empty value.
    fn close(&mut self, fields: &mut Fields) -> Result<State, Stop> {
        self.pos += 1;
        if self.skipping() {
            self.skipped -= 1; // skipping() means skipped > 0
            return Ok(self.after_value(fields));
        }
        let Some(level) = fields.json_levels.pop() else { return Ok(self.after_value(fields)) };
        fields.work.truncate(level.base as usize);
        if level.count == 0 && !fields.json_levels.is_empty() {
            let value = fields.range_from(fields.mark());
            self.emit(value, fields)?;
        }
        Ok(self.after_value(fields))
    }

    /// Reads the key at the current position: it becomes the innermost level's segment of the path.
    fn key(&mut self, fields: &mut Fields) -> Result<(), Stop> {
        if self.skipping() {
            self.pos = scan_string(self.input, self.pos, None).map_err(Stop::Error)?;
            return Ok(());
        }
        self.start_segment(fields);
        self.pos = scan_string(self.input, self.pos, Some(&mut fields.work)).map_err(Stop::Error)?;
        if let Some(level) = fields.json_levels.last_mut() {
            level.count = level.count.saturating_add(1);
        }
        Ok(())
    }

    /// Cuts the path back to the innermost container's, ready for its next
    /// child's segment (after a `.` below the top level).
    fn start_segment(&self, fields: &mut Fields) {
        let depth = fields.json_levels.len();
        if let Some(level) = fields.json_levels.last() {
            fields.work.truncate(level.base as usize);
            if depth > 1 {
                fields.work.push(b'.');
            }
        }
    }

    /// Starts the next element of the innermost array: its index becomes the
    /// segment of the path.
    fn begin_element(&mut self, fields: &mut Fields) {
        if self.skipping() {
            return;
        }
        self.start_segment(fields);
        let Some(level) = fields.json_levels.last_mut() else { return };
        let index = level.count;
        level.count = index.saturating_add(1);
        let mut digits = [0u8; 10];
        let mut n = index;
        let mut first = digits.len();
        loop {
            first -= 1;
            digits[first] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        fields.work.extend_from_slice(&digits[first..]);
    }

    /// Adds the pair (current path, `value`) unless skipping; stops at the
    /// argument limit or when the names are over budget.
    fn emit(&mut self, value: ByteRange, fields: &mut Fields) -> Result<(), Stop> {
        if self.skipping() {
            return Ok(());
        }
        let start = fields.mark();
        fields.bytes.extend_from_slice(&fields.work);
        let name = fields.range_from(start);
        if name.len() > self.name_budget || !fields.push_arg(Origin::Json, name, value) {
            fields.bytes.truncate(value.start.min(name.start) as usize);
            return Err(Stop::Limit);
        }
        self.name_budget -= name.len();
        Ok(())
    }
}

/// `value` as a u32; offsets in `fields.work` stay far below 4 GiB because the
/// input they come from does.
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// The four hex digits at `input[at..at + 4]` as a number.
fn hex4(input: &[u8], at: usize) -> Option<u32> {
    let digits = input.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, &b| Some(acc << 4 | char::from(b).to_digit(16)?))
}

/// Decodes the `\u` escape at `input[at]` (the backslash). Returns the character
/// and the bytes consumed: 12 for a surrogate pair, 6 otherwise. A lone
/// surrogate gives U+FFFD.
fn unicode_escape(input: &[u8], at: usize) -> Result<(char, usize), ParseError> {
    let invalid = ParseError { message: "invalid escape in string", offset: at };
    let unit = hex4(input, at + 2).ok_or(invalid)?;
    if (0xD800..0xDC00).contains(&unit)
        && input.get(at + 6..at + 8) == Some(b"\\u")
        && let Some(low @ 0xDC00..0xE000) = hex4(input, at + 8)
    {
        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        return Ok((char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER), 12));
    }
    // A lone surrogate (from_u32 refuses them) becomes U+FFFD.
    Ok((char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER), 6))
}

/// The bytes that end a run of plain string bytes: the closing quote, a
/// backslash, and the control characters JSON forbids in strings.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Scans the string whose opening quote is at `input[open]`, appending its
/// unescaped bytes to `out` if given. Returns the offset after the closing quote.
fn scan_string(input: &[u8], open: usize, mut out: Option<&mut Vec<u8>>) -> Result<usize, ParseError> {
    let mut i = open + 1;
    loop {
        let rest = input.get(i..).unwrap_or(&[]);
        let Some(run) = rest.iter().position(|&b| STRING_STOP[usize::from(b)]) else {
            return Err(ParseError { message: "unterminated string", offset: open });
        };
        if let Some(out) = out.as_mut() {
            out.extend_from_slice(&rest[..run]);
        }
        i += run;
        match rest[run] {
            b'"' => return Ok(i + 1),
            b'\\' => {
                let decoded = match input.get(i + 1) {
                    None => {
                        return Err(ParseError { message: "unterminated string", offset: open });
                    }
                    Some(b'"') => b'"',
                    Some(b'\\') => b'\\',
                    Some(b'/') => b'/',
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0c,
                    Some(b'n') => b'\n',
                    Some(b'r') => b'\r',
                    Some(b't') => b'\t',
                    Some(b'u') => {
                        let (c, consumed) = unicode_escape(input, i)?;
                        if let Some(out) = out.as_mut() {
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        i += consumed;
                        continue;
                    }
                    Some(_) => {
                        return Err(ParseError { message: "invalid escape in string", offset: i });
                    }
                };
                if let Some(out) = out.as_mut() {
                    out.push(decoded);
                }
                i += 2;
            }
            _ => {
                return Err(ParseError { message: "control character in string", offset: i });
            }
        }
    }
}

/// Scans the number starting at `input[start]`; returns the offset after it.
fn scan_number(input: &[u8], start: usize) -> Result<usize, ParseError> {
    let digit = |i: usize| input.get(i).is_some_and(u8::is_ascii_digit);
    let invalid = |offset| ParseError { message: "invalid number", offset };
    let mut i = start;
    if input.get(i) == Some(&b'-') {
        i += 1;
    }
    match input.get(i) {
        Some(b'0') => {
            i += 1;
            if digit(i) {
                return Err(invalid(i));
            }
        }
        Some(b'1'..=b'9') => {
            while digit(i) {
                i += 1;
            }
        }
        _ => return Err(invalid(i)),
    }
    if input.get(i) == Some(&b'.') {
        i += 1;
        if !digit(i) {
            return Err(invalid(i));
        }
        while digit(i) {
            i += 1;
        }
    }
    if matches!(input.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(input.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit(i) {
            return Err(invalid(i));
        }
        while digit(i) {
            i += 1;
        }
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn fields() -> Fields {
        Fields { max_args: usize::MAX, ..Fields::default() }
    }

    fn pairs(f: &Fields) -> Vec<(String, String)> {
        f.pairs
            .iter()
            .map(|p| {
                assert_eq!(p.origin, Origin::Json);
                (
                    String::from_utf8_lossy(f.get(p.name)).into_owned(),
                    String::from_utf8_lossy(f.get(p.value)).into_owned(),
                )
            })
            .collect()
    }

    fn parse(input: &str) -> (Vec<(String, String)>, ParseStatus) {
        let mut f = fields();
        let status = parse_json(input.as_bytes(), &ParseLimits::default(), &mut f);
        (pairs(&f), status)
    }

    fn owned(want: &[(&str, &str)]) -> Vec<(String, String)> {
        want.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn valid_documents() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                r#"{"user":{"name":"al"},"items":[{"sku":7}],"tags":["a",true,null]}"#,
                &[("user.name", "al"), ("items.0.sku", "7"), ("tags.0", "a"), ("tags.1", "true"), ("tags.2", "")],
            ),
            ("1", &[("", "1")]),
            (" \"top\" \r\n\t", &[("", "top")]),
            ("null", &[("", "")]),
            ("false", &[("", "false")]),
            ("{}", &[]),
            ("[]", &[]),
            (r#"{"a":{}}"#, &[("a", "")]),
            (r#"{"a":[],"b":[{}],"c":[[]]}"#, &[("a", ""), ("b.0", ""), ("c.0", "")]),
            (r#"{"a.b":1,"":2,"c":{"":3}}"#, &[("a.b", "1"), ("", "2"), ("c.", "3")]),
            (r#"{"a":1,"a":2}"#, &[("a", "1"), ("a", "2")]),
            (
                "[0,1,2,3,4,5,6,7,8,9,10,11]",
                &[
                    ("0", "0"),
                    ("1", "1"),
                    ("2", "2"),
                    ("3", "3"),
                    ("4", "4"),
                    ("5", "5"),
                    ("6", "6"),
                    ("7", "7"),
                    ("8", "8"),
                    ("9", "9"),
                    ("10", "10"),
                    ("11", "11"),
                ],
            ),
            (
                "[-0.5e+10, 0, -0, 1E5, 2.25e-3, 10]",
                &[("0", "-0.5e+10"), ("1", "0"), ("2", "-0"), ("3", "1E5"), ("4", "2.25e-3"), ("5", "10")],
            ),
            (r#"["\"\\\/\b\f\n\r\t"]"#, &[("0", "\"\\/\u{8}\u{c}\n\r\t")]),
            (r#"["\u0041\u00e9\u20AC"]"#, &[("0", "Aé€")]),
            (r#"["\ud83d\ude00"]"#, &[("0", "😀")]),
            (r#"["\ud83d"]"#, &[("0", "\u{FFFD}")]),
            (r#"["\ude00x"]"#, &[("0", "\u{FFFD}x")]),
            (r#"["\ud83d\u0041"]"#, &[("0", "\u{FFFD}A")]),
            (r#"["\ud83d\ud83d\ude00"]"#, &[("0", "\u{FFFD}😀")]),
            (r#"{"k\u002ey":"\u0000"}"#, &[("k.y", "\0")]),
            ("{ \"a\" : [ 1 , { \"b\" : \"c\" } ] }", &[("a.0", "1"), ("a.1.b", "c")]),
        ];
        for &(input, want) in cases {
            let (got, status) = parse(input);
            assert_eq!(got, owned(want), "{input}");
            assert_eq!(status, ParseStatus::default(), "{input}");
        }
    }

    #[test]
    fn invalid_utf8_passes_through() {
        let mut f = fields();
        let status = parse_json(b"{\"\xff\":\"\xc3\x28\"}", &ParseLimits::default(), &mut f);
        assert_eq!(status, ParseStatus::default());
        assert_eq!((f.get(f.pairs[0].name), f.get(f.pairs[0].value)), (&b"\xff"[..], &b"\xc3\x28"[..]));
    }

    #[test]
    fn errors_keep_what_came_before() {
        // (input, pairs before the error, message, offset)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, usize);
        let cases: &[Case<'_>] = &[
            ("", &[], "unexpected end of json input", 0),
            ("   ", &[], "unexpected end of json input", 3),
            ("[1,2", &[("0", "1"), ("1", "2")], "unexpected end of json input", 4),
            (r#"{"a":1,"b":"x"#, &[("a", "1")], "unterminated string", 11),
            (r#"{"a":1}x"#, &[("a", "1")], "trailing data after the json value", 7),
            ("1 2", &[("", "1")], "trailing data after the json value", 2),
            ("[1,]", &[("0", "1")], "expected a json value", 3),
            ("[1 2]", &[("0", "1")], "expected ',' or ']'", 3),
            (r#"{"a":1 "b":2}"#, &[("a", "1")], "expected ',' or '}'", 7),
            (r#"{"a":1,}"#, &[("a", "1")], "expected a string key", 7),
            ("{1:2}", &[], "expected a string key or '}'", 1),
            (r#"{"a" 1}"#, &[], "expected ':'", 5),
            (r#"[1}"#, &[("0", "1")], "expected ',' or ']'", 2),
            (r#"{"a":1]"#, &[("a", "1")], "expected ',' or '}'", 6),
            ("[01]", &[], "invalid number", 2),
            ("[-]", &[], "invalid number", 2),
            ("[1.]", &[], "invalid number", 3),
            ("[1.5e]", &[], "invalid number", 5),
            ("[.5]", &[], "expected a json value", 1),
            ("[+1]", &[], "expected a json value", 1),
            ("[tru]", &[], "invalid literal", 1),
            ("[nul", &[], "invalid literal", 1),
            ("[True]", &[], "expected a json value", 1),
            ("[\"a\tb\"]", &[], "control character in string", 3),
            ("[\"a\nb\"]", &[], "control character in string", 3),
            (r#"[1,"\x"]"#, &[("0", "1")], "invalid escape in string", 4),
            (r#"["\u12"]"#, &[], "invalid escape in string", 2),
            (r#"["\ud83d\uzzzz"]"#, &[], "invalid escape in string", 8),
            ("[\"\\", &[], "unterminated string", 1),
            ("'a'", &[], "expected a json value", 0),
            ("\u{feff}1", &[], "expected a json value", 0),
        ];
        for &(input, want, message, offset) in cases {
            let (got, status) = parse(input);
            assert_eq!(got, owned(want), "{input}");
            assert_eq!(status.error, Some(ParseError { message, offset }), "{input}");
            assert!(!status.limit_exceeded, "{input}");
        }
    }

    #[test]
    fn deep_documents_are_skipped_past_the_limit() {
        let limits = ParseLimits { max_json_depth: 2, ..ParseLimits::default() };
        // (input, pairs, error message)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case<'_>] = &[
            (r#"{"a":{"b":1}}"#, &[("a.b", "1")], None),
            (r#"{"a":{"b":{"c":1}},"d":2}"#, &[("d", "2")], None),
            (r#"{"a":{"b":[[1,{"x":[]}],"s"]},"d":[3]}"#, &[("d.0", "3")], None),
            (r#"{"a":{"b":[1}},"d":2}"#, &[], Some("expected ',' or ']'")),
            (r#"{"a":{"b":{"c":tru}}}"#, &[], Some("invalid literal")),
            (r#"{"a":{"b":{"c":"x"#, &[], Some("unterminated string")),
        ];
        for &(input, want, message) in cases {
            let mut f = fields();
            let status = parse_json(input.as_bytes(), &limits, &mut f);
            assert_eq!(pairs(&f), owned(want), "{input}");
            assert_eq!(status.limit_exceeded, input != r#"{"a":{"b":1}}"#, "{input}");
            assert_eq!(status.error.map(|e| e.message), message, "{input}");
        }
        let mut f = fields();
        let zero = ParseLimits { max_json_depth: 0, ..ParseLimits::default() };
        let status = parse_json(b"[1] ", &zero, &mut f);
        assert!(status.limit_exceeded && status.error.is_none() && f.pairs.is_empty());
        let status = parse_json(b"7", &zero, &mut f);
        assert!(!status.limit_exceeded && f.pairs.len() == 1, "scalars have no depth");
    }

    #[test]
    fn very_deep_documents_stop_with_bounded_memory() {
        for depth in [64, 65, 64 + SKIP_LEVELS, 64 + SKIP_LEVELS + 1, 100_000] {
            let input = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let mut f = fields();
            let status = parse_json(input.as_bytes(), &ParseLimits::default(), &mut f);
            assert_eq!(status.error, None, "{depth}");
            assert_eq!(status.limit_exceeded, depth > 64, "{depth}");
            assert_eq!(f.pairs.len(), usize::from(depth <= 64), "{depth}");
            assert!(f.work.capacity() < 64 * 8 && f.json_levels.capacity() <= 64, "{depth}");
        }
        let mut f = fields();
        let input = "[".repeat(64);
        let status = parse_json(input.as_bytes(), &ParseLimits::default(), &mut f);
        assert_eq!(status.error.map(|e| e.offset), Some(64));
        let input = format!("{}1{}}}", "[".repeat(70), "]".repeat(69));
        let status = parse_json(input.as_bytes(), &ParseLimits::default(), &mut f);
        assert_eq!(status.error.map(|e| e.message), Some("expected ',' or ']'"));
    }

    #[test]
    fn stops_at_the_argument_limit() {
        let mut f = Fields { max_args: 2, ..Fields::default() };
        let status = parse_json(br#"{"a":1,"b":[2,3],"c":4}"#, &ParseLimits::default(), &mut f);
        assert!(status.limit_exceeded && status.error.is_none());
        assert_eq!(pairs(&f), owned(&[("a", "1"), ("b.0", "2")]));
    }

    #[test]
    fn names_stay_within_their_budget() {
        let key = "k".repeat(100_000);
        let input = format!("{{\"{key}\":[{}0]}}", "0,".repeat(50_000));
        let mut f = fields();
        let status = parse_json(input.as_bytes(), &ParseLimits::default(), &mut f);
        assert!(status.limit_exceeded && status.error.is_none());
        let budget = input.len() * NAME_BUDGET_FACTOR + NAME_BUDGET_SLACK;
        let names: usize = f.pairs.iter().map(|p| p.name.len()).sum();
        assert!(names <= budget && f.pairs.len() > 10);
        assert!(f.bytes.len() <= budget + input.len());
    }

    #[test]
    fn many_values_in_linear_time() {
        let input = format!("{{\"items\":[{}{{}}]}}", "{\"sku\":\"abc\",\"n\":-1.5e3},".repeat(50_000));
        let mut f = fields();
        let status = parse_json(input.as_bytes(), &ParseLimits::default(), &mut f);
        assert_eq!(status, ParseStatus::default());
        assert_eq!(f.pairs.len(), 100_001);
        assert_eq!(pairs(&f)[99_999], ("items.49999.n".to_string(), "-1.5e3".to_string()));
    }

    #[test]
    fn warmed_up_parsing_does_not_grow() {
        let input = br#"{"user":{"name":"\u00e9l\ud83d\ude00","tags":["a",1.5,null,{}]},"deep":[[[[1]]]]}"#;
        let limits = ParseLimits { max_json_depth: 3, ..ParseLimits::default() };
        let mut f = fields();
        parse_json(input, &limits, &mut f);
        let capacities = (f.bytes.capacity(), f.pairs.capacity(), f.work.capacity(), f.json_levels.capacity());
        f.clear();
        parse_json(input, &limits, &mut f);
        assert_eq!((f.bytes.capacity(), f.pairs.capacity(), f.work.capacity(), f.json_levels.capacity()), capacities);
    }

    /// A JSON value for property tests; strings carry how to escape them.
    #[derive(Clone, Debug)]
    enum Json {
        Null,
        Bool(bool),
        Number(String),
        Str(String, Escape),
        Array(Vec<Json>),
        Object(Vec<((String, Escape), Json)>),
    }

    /// How a string is written.
    #[derive(Clone, Copy, Debug)]
    enum Escape {
        /// Only what must be escaped, with short escapes.
        Minimal,
        /// Every character as `\uXXXX` (surrogate pairs beyond the BMP).
        Unicode,
    }

    fn arb_escape() -> impl Strategy<Value = Escape> {
        prop_oneof![Just(Escape::Minimal), Just(Escape::Unicode)]
    }

    fn arb_string() -> impl Strategy<Value = (String, Escape)> {
        (
            prop_oneof!["[a-z._]{0,6}", "[\"\\\\/\u{0}-\u{1f}\u{7f}é€😀\u{10ffff} a.]{0,6}", any::<String>(),],
            arb_escape(),
        )
    }

    fn arb_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            "-?(0|[1-9][0-9]{0,6})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?".prop_map(Json::Number),
            arb_string().prop_map(|(s, e)| Json::Str(s, e)),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Json::Array),
                vec((arb_string(), inner), 0..6).prop_map(Json::Object),
            ]
        })
    }

    fn write_string(s: &str, escape: Escape, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match (escape, c) {
                (Escape::Unicode, _) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                (_, '"') => out.push_str("\\\""),
                (_, '\\') => out.push_str("\\\\"),
                (_, '\n') => out.push_str("\\n"),
                (_, '\t') => out.push_str("\\t"),
                (_, '/') => out.push_str("\\/"),
                (_, c) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
                (_, c) => out.push(c),
            }
        }
        out.push('"');
    }

    /// Serializes `value`, with whitespace between tokens when `spaced`.
    fn write(value: &Json, spaced: bool, out: &mut String) {
        let space = if spaced { " \n\t" } else { "" };
        match value {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::Str(s, e) => write_string(s, *e, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space);
                    write(item, spaced, out);
                }
                out.push_str(space);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, ((key, e), item)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space);
                    write_string(key, *e, out);
                    out.push_str(space);
                    out.push(':');
                    out.push_str(space);
                    write(item, spaced, out);
                }
                out.push_str(space);
                out.push('}');
            }
        }
    }

    /// The pairs the parser must report for `value` found at `path`.
    fn expected(value: &Json, path: &str, top: bool, out: &mut Vec<(String, String)>) {
        let join = |segment: &str| {
            if top { segment.to_string() } else { format!("{path}.{segment}") }
        };
        match value {
            Json::Null => out.push((path.to_string(), String::new())),
            Json::Bool(b) => out.push((path.to_string(), b.to_string())),
            Json::Number(n) => out.push((path.to_string(), n.clone())),
            Json::Str(s, _) => out.push((path.to_string(), s.clone())),
            Json::Array(items) if items.is_empty() && !top => out.push((path.to_string(), String::new())),
            Json::Object(members) if members.is_empty() && !top => out.push((path.to_string(), String::new())),
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    expected(item, &join(&i.to_string()), false, out);
                }
            }
            Json::Object(members) => {
                for ((key, _), item) in members {
                    expected(item, &join(key), false, out);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn every_scalar_comes_back_with_its_path(value in arb_json(), spaced: bool) {
            let mut text = String::new();
            write(&value, spaced, &mut text);
            let mut want = Vec::new();
            expected(&value, "", true, &mut want);
            let mut f = fields();
            let status = parse_json(text.as_bytes(), &ParseLimits::default(), &mut f);
            prop_assert_eq!(status, ParseStatus::default(), "{}", text);
            prop_assert_eq!(pairs(&f), want, "{}", text);
        }

        #[test]
        fn any_bytes_never_panic(
            input in vec(any::<u8>(), 0..300),
            depth in 0usize..4,
            max_args in 0usize..8,
        ) {
            check_any(&input, depth, max_args)?;
        }

        #[test]
        fn any_token_soup_never_panics(
            tokens in vec(prop_oneof![
                Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just("\"k\""),
                Just("\"\\u"), Just("\"\\ud800\""), Just("1"), Just("-0.5e+1"), Just("true"),
                Just("null"), Just(" "), Just("\\"),
            ], 0..60),
            depth in 0usize..4,
            max_args in 0usize..8,
        ) {
            check_any(tokens.concat().as_bytes(), depth, max_args)?;
        }
    }

    fn check_any(input: &[u8], depth: usize, max_args: usize) -> Result<(), TestCaseError> {
        let mut f = Fields { max_args, ..Fields::default() };
        let limits = ParseLimits { max_json_depth: depth, ..ParseLimits::default() };
        let status = parse_json(input, &limits, &mut f);
        prop_assert!(f.pairs.len() <= max_args);
        if let Some(e) = status.error {
            prop_assert!(e.offset <= input.len());
        }
        for p in &f.pairs {
            for r in [p.name, p.value] {
                prop_assert!(r.start <= r.end && r.end as usize <= f.bytes.len());
            }
        }
        Ok(())
    }
}
