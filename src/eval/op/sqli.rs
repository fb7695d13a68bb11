//! `detect_sqli`: libinjection's SQL injection detector, allocating nothing.
//!
//! # Reference
//!
//! `match detect_sqli` is true when libinjection's algorithm classifies the value,
//! after the rule's transforms, as SQL injection. It takes no argument.
//!
//! ```text
//! rule 942100 "SQL injection (libinjection)" {
//!     severity  critical
//!     inspect   args, args.names, cookies, headers["referer", "user-agent"]
//!     transform url_decode_uni
//!     match     detect_sqli
//! }
//! ```
//!
//! - Empty value: never SQL injection.
//! - Bytes, not text: invalid UTF-8 is fine. Bytes 0x80-0xFF are word characters,
//!   except 0xA0 (Latin-1 no-break space), which is white space as NUL is.
//! - Limits: none to configure; memory is under 1 KiB of stack. Only the first
//!   five tokens left after folding count, and a token keeps at most 31 bytes of
//!   its text (as libinjection does). Time is linear in the value's length but for
//!   one case inherited from the crate's tokenizer: a word with many `.` or `` ` ``
//!   (`a.a.a.a...`) is quadratic, because its `parse_word` validates the UTF-8 of
//!   every prefix ending at one (C looks at the first 31 bytes only). Measured
//!   2026-11-27 (docs/libinjection.md): 4 KiB 0.2 ms, 16 KiB 2-3 ms, 64 KiB
//!   35-50 ms, 256 KiB 0.4-0.6 s. Bound the inspected length; the fix belongs
//!   upstream.
//! - Audit: [`sqli_fingerprint`] returns the fingerprint that matched, such as
//!   `s&sos` for `1' or '1'='1`, for the audit event.
//!
//! # How libinjection decides
//!
//! 1. Tokenize the value as SQL: strings, numbers, keywords, operators, comments...
//!    Each token has a one-character type (`s` string, `1` number, `k` keyword,
//!    `&` logic operator, `c` comment, ...).
//! 2. Fold: rewrite the token stream so that harmless runs collapse (`1+2` to `1`,
//!    `"a" "b"` to `"a"`, `UNION` `ALL` to one token `UNION ALL`, ...) and keep
//!    at most five tokens. Their types form the fingerprint, e.g. `s&1`.
//! 3. Blacklist: the fingerprint is SQLi-shaped if `'0' + uppercase(fingerprint)`
//!    is in the keyword table with type `F` (8,367 such entries).
//! 4. Whitelist: a few short fingerprints are dropped again when the input looks
//!    like prose (`1 union`, `sexy and 17`, `foo --`), unless the value mentions
//!    `sp_password` after a comment.
//! 5. Contexts: the value is tried as-is (ANSI SQL), again as MySQL if it has a
//!    comment whose meaning differs there (`--x`, `#`), then as if it followed an
//!    opening `'` (ANSI, then MySQL), then as if it followed an opening `"` (MySQL).
//!    The first context that is SQLi decides.
//!
//! # Why not `libinjectionrs::detect_sqli`
//!
//! We use the pure-Rust port `libinjectionrs` 0.1.1 (BSD-3-Clause), but not its
//! `detect_sqli`:
//! - It allocates on nearly every call: `sqli_data::lookup_word` upper-cases into a
//!   new `String`, `blacklist::is_blacklisted` builds one, folding calls `format!`.
//!   Measured with a counting allocator (2026-11-27, docs/libinjection.md):
//!   4 allocations for `hello`, 14 for `hello world`, 42 per value on average
//!   over the libinjection corpus. rampart's matcher allocates nothing per request.
//! - It flags 18 fewer of the corpus's SQLi samples than C libinjection does
//!   (see the last section).
//!
//! # What we reuse, what we write
//!
//! Reused from `libinjectionrs`:
//! - [`SqliTokenizer`], [`Token`] and [`TokenType`](Ty). The tokenizer allocates
//!   nothing once it is given a lookup function with `with_lookup_fn`; without one
//!   it falls back to the allocating `sqli_data::lookup_word`. A counting allocator
//!   confirmed this over every corpus sample in all five contexts
//!   (1.38 million tokens, no allocation).
//! - `sqli_data::SQL_KEYWORDS`, libinjection's sorted keyword and fingerprint table.
//!
//! Written here, on the stack: the keyword lookup (upper-cased into a 32-byte buffer,
//! then a binary search), folding, the fingerprint, the blacklist lookup, the
//! whitelist, and the loop over contexts. Folding follows libinjection's index
//! arithmetic exactly (a rule that "drops a token" forgets the newest one held,
//! which is not always the one it looked at), since fingerprints must match C's.
//!
//! # Where we depart from libinjectionrs 0.1.1
//!
//! Each departure follows C libinjection as of commit 85e252a2, the corpus's
//! source. [`Quirks`] names them. The tests run this code with every quirk set to
//! the crate's behaviour and require the crate's answers and fingerprints on every
//! corpus sample and property-test input; with C's behaviour, every difference
//! must be explained by a quirk.
//!
//! | quirk | C libinjection | libinjectionrs 0.1.1 | corpus samples |
//! |---|---|---|---:|
//! | `into_any_case` | the whitelist's `INTO OUTFILE` test ignores case | needs upper-case `INTO`, so `1 into outfile 'x'` (`1ks`) is let through | 13 |
//! | `merge_bareword_phrases` | a phrase typed `n` merges (`LOCK` `IN` to `LOCK IN`), so `LOCK IN SHARE MODE` and `IN BOOLEAN MODE` form | no merge when the phrase is typed `n` (its lookup cannot tell `n` from "not found") | 5 |
//! | `variable_name_only` | `@user` keeps `user`, so `@user(` is the function `USER` | keeps `@user` | 0 |
//! | `sp_password_exact` | `sp_password` matched byte for byte | any case, and only in valid UTF-8 | 0 |
//! | `collate_c_string` | `COLLATE x_y`: `_` searched up to a NUL, in any bytes | only in valid UTF-8 | 0 |
//!
//! The 13 + 5 samples are exactly the 18 that C flags and the crate misses.
//!
//! Not adopted: upstream libinjection later (pull request 60, late 2025) stopped
//! emitting a token for a number like `1.e` (exponent without digits, which MySQL
//! ignores: `1' or 1.e(1)`). C at 85e252a2 and the crate make it a bareword, and
//! so do we; adopting the fix would flag one more corpus sample
//! (sqli-rsalgado-bhusa2013 line 66).

use libinjectionrs::SqliFlags;
use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
use libinjectionrs::sqli::{SqliTokenizer, Token, TokenType as Ty};

/// Longest fingerprint: libinjection keeps five tokens after folding.
const MAX_TOKENS: usize = 5;

/// Longest token text kept: libinjection's 32-byte buffer less its NUL.
const MAX_VALUE: usize = 31;

/// Returns true if libinjection's algorithm classifies `input` as SQL injection.
///
/// Allocates nothing. See the module docs for the algorithm and its limits.
pub(crate) fn detect_sqli(input: &[u8]) -> bool {
    sqli_fingerprint(input).is_some()
}

/// Returns the fingerprint that matched if `input` is SQL injection, else `None`.
///
/// The fingerprint is what an audit event reports, e.g. `s&sos` for
/// `1' or '1'='1`. Allocates nothing.
pub(crate) fn sqli_fingerprint(input: &[u8]) -> Option<Fingerprint> {
    if plain_words(input) {
        return None;
    }
    detect(input, Quirks::LIBINJECTION)
}

/// A sound shortcut for the commonest benign values (`running shoes`, `42`,
/// `price_asc`, `12.50`, `items.0.sku`, `2025-08-02`, `/help/articles/5614`,
/// `https://shop.example/cart`, `Zoë, Brontë`): true if `input` is only words
/// of ASCII letters, digits, `_`, `.` and non-ASCII bytes (but 0xA0, white
/// space to libinjection) separated by spaces, `/`, `-`, `:` or `,` (no `--`),
/// none of which libinjection can read as a SQL keyword or the start of a
/// keyword phrase. It then sees only barewords (`n`), numbers (`1`),
/// operators (`o`: `/`, `-`, `::`), colons (`:`) and commas (`,`) in every
/// context: there are no quotes, so only the as-is pass runs; no comment
/// (`--`, `/*`, `#`), so no MySQL reparse; folding only drops or merges
/// tokens, and a merge needs a keyword phrase, whose words all start with a
/// letter or `_`. No fingerprint made of `n`, `1`, `o`, `:` and `,` is in its
/// list (the tests check the list and the premises, and compare this function
/// with the full algorithm over the corpora and random inputs). False means
/// "run the algorithm", never "SQLi".
///
/// A word starting with a letter or `_` is one libinjection word: looked up
/// whole, and up to each `.` in it (where libinjection splits off a keyword). A
/// word starting with a digit is a number followed by whatever the number parser
/// leaves (which may take a `-` after an exponent's `e`, as in `1e-5`); a `.`
/// must sit between digits (elsewhere it can become a dot token), and since any
/// word left over starts at a letter or `_`, every such suffix is checked as a
/// word (more than libinjection reads, never less).
fn plain_words(input: &[u8]) -> bool {
    // One pass with a byte table: a separator ends a word, any byte outside
    // the two classes (and `--`) sends the text to the algorithm.
    let mut start = 0;
    let mut dotted = false;
    for (i, &b) in input.iter().enumerate() {
        match PLAIN_CLASS[usize::from(b)] {
            PLAIN_WORD => {}
            PLAIN_DOT => dotted = true,
            PLAIN_SEPARATOR => {
                if b == b'-' && i > 0 && input[i - 1] == b'-' {
                    return false;
                }
                if !plain_word(&input[start..i], dotted) {
                    return false;
                }
                start = i + 1;
                dotted = false;
            }
            _ => return false,
        }
    }
    plain_word(&input[start..], dotted)
}

/// [`plain_words`]' byte classes: anything else (quotes, operators, white
/// space but the space, 0xA0) is not plain.
const PLAIN_OTHER: u8 = 0;
/// ASCII letters and digits, `_`, non-ASCII bytes but 0xA0.
const PLAIN_WORD: u8 = 1;
/// `.`: part of a word, where libinjection may split a keyword off.
const PLAIN_DOT: u8 = 2;
/// ` `, `/`, `-`, `:`, `,`.
const PLAIN_SEPARATOR: u8 = 3;

static PLAIN_CLASS: [u8; 256] = {
    let mut table = [PLAIN_OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = match byte {
            b'.' => PLAIN_DOT,
            b' ' | b'/' | b'-' | b':' | b',' => PLAIN_SEPARATOR,
            _ if byte.is_ascii_alphanumeric() || byte == b'_' || (byte >= 0x80 && byte != 0xa0) => PLAIN_WORD,
            _ => PLAIN_OTHER,
        };
        b += 1;
    }
    table
};

/// One word of [`plain_words`] (its bytes all of the word classes): true if
/// libinjection reads it as a bareword or a number and nothing else.
/// `dotted`: the word holds a `.`.
fn plain_word(word: &[u8], dotted: bool) -> bool {
    let Some(&first) = word.first() else { return true };
    if first.is_ascii_digit() {
        for (i, &b) in word.iter().enumerate().skip(1) {
            let risky = match b {
                b'.' => !(word[i - 1].is_ascii_digit() && word.get(i + 1).is_some_and(u8::is_ascii_digit)),
                b'0'..=b'9' => false,
                _ => may_be_sql_words(&word[i..]),
            };
            if risky {
                return false;
            }
        }
        true
    } else if first == b'.' {
        false
    } else if dotted {
        !may_be_sql_words(word)
    } else {
        !may_be_sql_word(word)
    }
}

/// Whether libinjection could read the word `word` (starting with a letter or
/// `_`) as anything but one bareword: it or its part before any `.` may be a
/// SQL word. A part with a `.` in it can only be one of the table's few
/// dotted words (`SYS.FN_MY_PERMISSIONS`), so those are looked up only when
/// the part before the first `.` is the head of one.
fn may_be_sql_words(word: &[u8]) -> bool {
    let Some(dot) = memchr::memchr(b'.', word) else { return may_be_sql_word(word) };
    match keyword_index().find(&word[..dot]) {
        Some(Found::Keyword(_) | Found::PhraseStart) => true,
        None => false,
        Some(Found::DottedHead) => {
            may_be_sql_word(word)
                || word.iter().enumerate().skip(dot + 1).any(|(i, &b)| b == b'.' && may_be_sql_word(&word[..i]))
        }
    }
}

/// Whether libinjection could read `word` as more than a bareword: a keyword,
/// or the first word of a keyword phrase (`CURRENT PATH`) whose first word is
/// not a keyword by itself. One probe of the keyword index, which holds both.
fn may_be_sql_word(word: &[u8]) -> bool {
    matches!(keyword_index().find(word), Some(Found::Keyword(_) | Found::PhraseStart))
}

/// First words of the keyword table's phrases that are not keywords themselves
/// (`AT`, `CURRENT`, `FULL`, `NEXT`, `PREVIOUS`): merging two barewords can form a phrase.
#[cfg(test)]
fn phrase_starts() -> &'static [&'static [u8]] {
    &keyword_index().phrase_starts
}

/// A SQLi fingerprint: the types of up to five folded tokens, one ASCII byte each.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint {
    types: [u8; MAX_TOKENS],
    len: u8,
}

impl Fingerprint {
    /// The fingerprint's bytes, e.g. `b"s&sos"`.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.types[..usize::from(self.len)]
    }

    /// The fingerprint as text, e.g. `"s&sos"`.
    pub(crate) fn as_str(&self) -> &str {
        // Cannot fail: token type characters are ASCII (`TokenType::to_char`).
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl core::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where libinjectionrs 0.1.1 departs from C libinjection: `true` follows C.
///
/// Production code uses [`Quirks::LIBINJECTION`] only; the tests also run the
/// crate's behaviour to prove every other step matches it.
#[derive(Clone, Copy, Debug)]
struct Quirks {
    /// The whitelist's `INTO OUTFILE` test ignores case.
    into_any_case: bool,
    /// Merging two words succeeds for phrases typed `n` too (`LOCK IN`).
    merge_bareword_phrases: bool,
    /// A variable's text is its name without the `@` or `@@`.
    variable_name_only: bool,
    /// `sp_password` is matched byte for byte.
    sp_password_exact: bool,
    /// `COLLATE x_y`: `_` is searched as in a C string, in any bytes.
    collate_c_string: bool,
}

impl Quirks {
    /// C libinjection's behaviour everywhere.
    const LIBINJECTION: Quirks = Quirks {
        into_any_case: true,
        merge_bareword_phrases: true,
        variable_name_only: true,
        sp_password_exact: true,
        collate_c_string: true,
    };
}

/// Runs libinjection's contexts in order; the first that is SQLi decides.
fn detect(input: &[u8], quirks: Quirks) -> Option<Fingerprint> {
    if input.is_empty() {
        return None;
    }
    let (none, single, double) =
        (SqliFlags::FLAG_QUOTE_NONE, SqliFlags::FLAG_QUOTE_SINGLE, SqliFlags::FLAG_QUOTE_DOUBLE);
    let (ansi, mysql) = (SqliFlags::FLAG_SQL_ANSI, SqliFlags::FLAG_SQL_MYSQL);

    // As-is, then as MySQL if a comment means something else there.
    let pass = Pass::run(input, none | ansi, quirks);
    if pass.sqli.is_some() {
        return pass.sqli;
    }
    if pass.reparse_as_mysql {
        let pass = Pass::run(input, none | mysql, quirks);
        if pass.sqli.is_some() {
            return pass.sqli;
        }
    }
    // As if the value had been pasted after an opening single quote.
    if input.contains(&b'\'') {
        let pass = Pass::run(input, single | ansi, quirks);
        if pass.sqli.is_some() {
            return pass.sqli;
        }
        if pass.reparse_as_mysql {
            let pass = Pass::run(input, single | mysql, quirks);
            if pass.sqli.is_some() {
                return pass.sqli;
            }
        }
    }
    // After an opening double quote: MySQL only, as libinjection does.
    if input.contains(&b'"') {
        return Pass::run(input, double | mysql, quirks).sqli;
    }
    None
}

/// The outcome of one pass over the input in one context.
struct Pass {
    /// The fingerprint, if it is blacklisted and not whitelisted.
    sqli: Option<Fingerprint>,
    /// The pass met `--x` (ANSI comment, MySQL operators) or `#`.
    reparse_as_mysql: bool,
}

impl Pass {
    fn run(input: &[u8], flags: SqliFlags, quirks: Quirks) -> Pass {
        let mut folder = Folder::new(input, flags, quirks);
        let count = folder.fold();
        let fingerprint = folder.fingerprint(count);
        let sqli = (is_blacklisted(fingerprint.as_bytes()) && folder.confirm(&fingerprint)).then_some(fingerprint);
        let stats = &folder.lexer.tokenizer;
        Pass { sqli, reparse_as_mysql: stats.stats_comment_ddx != 0 || stats.stats_comment_hash != 0 }
    }
}

/// The crate's tokenizer with our lookup, adjusted where it departs from C.
struct Lexer<'a> {
    input: &'a [u8],
    tokenizer: SqliTokenizer<'a>,
    quirks: Quirks,
    /// Tokens returned so far (libinjection's `stats_tokens`).
    count: usize,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8], flags: SqliFlags, quirks: Quirks) -> Self {
        let tokenizer = SqliTokenizer::new(input, flags).with_lookup_fn(&lookup_word);
        Lexer { input, tokenizer, quirks, count: 0 }
    }

    fn next(&mut self) -> Option<Token> {
        let mut token = self.tokenizer.next_token()?;
        if self.quirks.variable_name_only && token.token_type == Ty::Variable && token.str_open == 0 {
            keep_variable_name(&mut token, self.input);
        }
        self.count += 1;
        Some(token)
    }
}

/// Bytes that end a variable name, as in libinjection.
const VARIABLE_END: &[u8] = b" <>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r`\"";

/// Gives a plain `@name` / `@@name` variable libinjection's text: the name alone.
/// (The crate keeps the `@`s, so `@user(` is not seen as the function `USER`.)
fn keep_variable_name(token: &mut Token, input: &[u8]) {
    let start = token.pos + usize::try_from(token.count).unwrap_or(0);
    let rest = input.get(start..).unwrap_or_default();
    let len = rest.iter().position(|b| VARIABLE_END.contains(b)).unwrap_or(rest.len());
    let len = len.min(MAX_VALUE);
    token.val = [0; 32];
    token.val[..len].copy_from_slice(&rest[..len]);
    token.len = len;
    token.pos = start;
}

/// libinjection's folding, over a fixed array of tokens.
///
/// `held` and `done` are C's `pos` and `left`: `toks[..held]` are the tokens read
/// and not folded away; `toks[..done]` are settled. Rules look at the pair or
/// triple starting at `done`; some rewind `done` to 0 to look again from the start.
struct Folder<'a> {
    lexer: Lexer<'a>,
    /// Up to six tokens: five kept plus one looked ahead; two spare slots.
    toks: [Token; MAX_TOKENS + 3],
    held: usize,
    done: usize,
    /// The tokenizer may have more tokens.
    more: bool,
    /// The last token read, if it was a comment. Comments are not folded; a
    /// trailing one is put back when the fingerprint has room.
    trailing_comment: Option<Token>,
}

/// What a folding rule did.
enum Step {
    /// Tokens were rewritten: loop again (read more if needed, retry the rules).
    Again,
    /// No rule rewrote the tokens: go on to the next stage.
    Next,
    /// Stop folding: the fingerprint is the first `n` tokens.
    Stop(usize),
}

impl<'a> Folder<'a> {
    fn new(input: &'a [u8], flags: SqliFlags, quirks: Quirks) -> Self {
        Folder {
            lexer: Lexer::new(input, flags, quirks),
            toks: core::array::from_fn(|_| Token::new()),
            held: 0,
            done: 0,
            more: true,
            trailing_comment: None,
        }
    }

    /// Folds the token stream; returns how many tokens make the fingerprint.
    fn fold(&mut self) -> usize {
        // Leading comments, `(`, SQL types and unary operators say nothing.
        loop {
            match self.lexer.next() {
                None => return 0,
                Some(token) if is_leading_noise(&token) => {}
                Some(token) => {
                    self.toks[0] = token;
                    self.held = 1;
                    break;
                }
            }
        }
        loop {
            if self.held >= MAX_TOKENS && self.starts_with_noise_shape() {
                // `1,(1)`, `n=(n)`, ...: keep the first token, plus the sixth if read.
                if self.held > MAX_TOKENS {
                    self.toks[1] = self.toks[MAX_TOKENS].clone();
                    self.held = 2;
                } else {
                    self.held = 1;
                }
                self.done = 0;
            }
            if !self.more || self.done >= MAX_TOKENS {
                self.done = self.held;
                break;
            }
            if !self.read_until_held(2) {
                self.done = self.held;
                continue;
            }
            match self.fold_pair() {
                Step::Again => continue,
                Step::Stop(n) => return n,
                Step::Next => {}
            }
            if !self.read_until_held(3) {
                self.done = self.held;
                continue;
            }
            match self.fold_triple() {
                Step::Again => continue,
                Step::Stop(n) => return n,
                Step::Next => self.done += 1,
            }
        }
        // A trailing comment goes back at the end if there is room.
        if let Some(comment) = self.trailing_comment.take().filter(|_| self.done < MAX_TOKENS) {
            self.toks[self.done] = comment;
            self.done += 1;
        }
        self.done.min(MAX_TOKENS)
    }

    /// Reads tokens until `n` are held past `done` or none are left; returns
    /// whether there are `n`. Comments are set aside, not held.
    fn read_until_held(&mut self, n: usize) -> bool {
        while self.more && self.held <= MAX_TOKENS && self.held - self.done < n {
            match self.lexer.next() {
                None => self.more = false,
                Some(token) if token.token_type == Ty::Comment => {
                    self.trailing_comment = Some(token);
                }
                Some(token) => {
                    self.trailing_comment = None;
                    self.toks[self.held] = token;
                    self.held += 1;
                }
            }
        }
        self.held - self.done >= n
    }

    /// The five held tokens form one of the shapes libinjection resets on.
    fn starts_with_noise_shape(&self) -> bool {
        const SHAPES: [&[u8; MAX_TOKENS]; 6] = [b"1o(1)", b"1,(1)", b"no(n)", b"no(1)", b"1),(1", b"n)o(n"];
        let mut shape = [0u8; MAX_TOKENS];
        for (c, token) in shape.iter_mut().zip(&self.toks) {
            *c = type_char(token.token_type);
        }
        SHAPES.contains(&&shape)
    }

    /// Forgets the `n` newest held tokens (libinjection's `pos -= n`). These are
    /// the ones a rule just looked at, unless a rewind left more tokens held.
    fn drop_newest(&mut self, n: usize) {
        // Cannot underflow: callers hold at least `n` tokens past `done`.
        self.held -= n;
    }

    /// The two-token rules, in libinjection's order; the first that applies wins.
    fn fold_pair(&mut self) -> Step {
        let (i, j) = (self.done, self.done + 1);
        let (a, b) = (self.toks[i].token_type, self.toks[j].token_type);
        if (a == Ty::String && b == Ty::String) || (a == Ty::Semicolon && b == Ty::Semicolon) {
            // `'a' 'b'` is valid SQL: one string. Repeated `;` are one.
            self.drop_newest(1);
            Step::Again
        } else if matches!(a, Ty::Operator | Ty::LogicOperator) && (is_unary_op(&self.toks[j]) || b == Ty::SqlType) {
            // `= -`, `and binary`: the second adds nothing.
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else if a == Ty::LeftParenthesis && is_unary_op(&self.toks[j]) {
            self.drop_newest(1);
            self.done = self.done.saturating_sub(1);
            Step::Again
        } else if self.merge_words(i) {
            // `UNION` `ALL` is the one token `UNION ALL`.
            self.drop_newest(1);
            self.done = self.done.saturating_sub(1);
            Step::Again
        } else if a == Ty::Semicolon
            && b == Ty::Function
            && value(&self.toks[j]).get(..2).is_some_and(|v| v.eq_ignore_ascii_case(b"IF"))
        {
            // After `;`, IF is Transact-SQL control flow, not the function.
            self.toks[j].token_type = Ty::Tsql;
            Step::Again
        } else if matches!(a, Ty::Bareword | Ty::Variable)
            && b == Ty::LeftParenthesis
            && PSEUDO_FUNCTIONS.iter().any(|f| value(&self.toks[i]).eq_ignore_ascii_case(f))
        {
            // Words that are column names too, but calls when followed by `(`.
            self.toks[i].token_type = Ty::Function;
            Step::Again
        } else if a == Ty::Keyword && value_is_one_of(&self.toks[i], &[b"IN", b"NOT IN"]) {
            // `IN (` is an operator; `IN BOOLEAN MODE` starts a phrase.
            self.toks[i].token_type = if b == Ty::LeftParenthesis { Ty::Operator } else { Ty::Bareword };
            Step::Again
        } else if a == Ty::Operator && value_is_one_of(&self.toks[i], &[b"LIKE", b"NOT LIKE"]) {
            // `LIKE(` is a function call. Either way, the triple rules come next.
            if b == Ty::LeftParenthesis {
                self.toks[i].token_type = Ty::Function;
            }
            Step::Next
        } else if a == Ty::SqlType
            && matches!(
                b,
                Ty::Bareword
                    | Ty::Number
                    | Ty::SqlType
                    | Ty::LeftParenthesis
                    | Ty::Function
                    | Ty::Variable
                    | Ty::String
            )
        {
            // A type name before a value (`binary 'a'`) is dropped.
            self.toks[i] = self.toks[j].clone();
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else if a == Ty::Collate && b == Ty::Bareword {
            // Too many collations to list: one with `_` is taken as a type.
            if self.collation_has_underscore(j) {
                self.toks[j].token_type = Ty::SqlType;
                self.done = 0;
            }
            Step::Next
        } else if a == Ty::Backslash {
            // T-SQL reads `\%1` as `0 % 1`, and `\1` as `1`.
            if is_arithmetic_op(&self.toks[j]) {
                self.toks[i].token_type = Ty::Number;
            } else {
                self.toks[i] = self.toks[j].clone();
                self.drop_newest(1);
            }
            self.done = 0;
            Step::Again
        } else if (a == Ty::LeftParenthesis && b == Ty::LeftParenthesis)
            || (a == Ty::RightParenthesis && b == Ty::RightParenthesis)
        {
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else if a == Ty::LeftBrace && b == Ty::Bareword {
            if self.toks[j].len == 0 {
                // MySQL's `{ ``.``.id }`: unparsable, so evil.
                self.toks[j].token_type = Ty::Evil;
                return Step::Stop(j + 1);
            }
            // ODBC `{fn expr}`: strip the `{ fn`.
            self.drop_newest(2);
            self.done = 0;
            Step::Again
        } else if b == Ty::RightBrace {
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else {
            Step::Next
        }
    }

    /// The three-token rules, in libinjection's order; the first that applies wins.
    fn fold_triple(&mut self) -> Step {
        let (i, j, k) = (self.done, self.done + 1, self.done + 2);
        let (a, b, c) = (self.toks[i].token_type, self.toks[j].token_type, self.toks[k].token_type);
        let unary = is_unary_op(&self.toks[j]);
        let value_like = |t: Ty| matches!(t, Ty::Number | Ty::Bareword | Ty::String | Ty::Variable);
        if (a == Ty::Number && b == Ty::Operator && c == Ty::Number)
            || (a == Ty::Operator && b != Ty::LeftParenthesis && c == Ty::Operator)
            || (a == Ty::LogicOperator && c == Ty::LogicOperator)
            || (a == Ty::Variable && b == Ty::Operator && matches!(c, Ty::Variable | Ty::Number | Ty::Bareword))
            || (matches!(a, Ty::Bareword | Ty::Number) && b == Ty::Operator && matches!(c, Ty::Number | Ty::Bareword))
            || (value_like(a) && b == Ty::Operator && value(&self.toks[j]) == b"::" && c == Ty::SqlType)
            || (value_like(a) && b == Ty::Comma && value_like(c))
        {
            // `1+1`, `x=y`, `a,b`, `'a'::text`: an expression or list is its first term.
            self.drop_newest(2);
            self.done = 0;
            Step::Again
        } else if (matches!(a, Ty::Expression | Ty::Group | Ty::Comma) && unary && c == Ty::LeftParenthesis)
            || (matches!(a, Ty::Keyword | Ty::Expression | Ty::Group)
                && unary
                && matches!(c, Ty::Number | Ty::Bareword | Ty::Variable | Ty::String | Ty::Function))
        {
            // `SELECT -1`, `LIMIT +(`: drop the unary operator.
            self.toks[j] = self.toks[k].clone();
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else if a == Ty::Comma && unary && value_like(c) {
            // `1,-1`: drop the `-`, then back up so `1,1` folds to `1`.
            self.toks[j] = self.toks[k].clone();
            self.drop_newest(3);
            self.done = 0;
            Step::Again
        } else if a == Ty::Comma && unary && c == Ty::Function {
            // `1,-sin(1)` is `1,sin(1)`.
            self.toks[j] = self.toks[k].clone();
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else if a == Ty::Bareword && b == Ty::Dot && c == Ty::Bareword {
            // `database.table` is one name.
            self.drop_newest(2);
            self.done = 0;
            Step::Again
        } else if a == Ty::Expression && b == Ty::Dot && c == Ty::Bareword {
            // `SELECT . name` is `SELECT name`.
            self.toks[j] = self.toks[k].clone();
            self.drop_newest(1);
            self.done = 0;
            Step::Again
        } else {
            if a == Ty::Function
                && b == Ty::LeftParenthesis
                && c != Ty::RightParenthesis
                && value(&self.toks[i]).eq_ignore_ascii_case(b"USER")
            {
                // `USER()` takes no argument, so `user(x)` is not the function.
                self.toks[i].token_type = Ty::Bareword;
            }
            Step::Next
        }
    }

    /// Merges `toks[i]` and `toks[i + 1]` if together they are a keyword phrase.
    fn merge_words(&mut self, i: usize) -> bool {
        let (a, b) = (&self.toks[i], &self.toks[i + 1]);
        let word = |t: Ty| {
            matches!(
                t,
                Ty::Keyword
                    | Ty::Bareword
                    | Ty::Operator
                    | Ty::Union
                    | Ty::Function
                    | Ty::Expression
                    | Ty::Tsql
                    | Ty::SqlType
            )
        };
        if !word(a.token_type) || !(word(b.token_type) || b.token_type == Ty::LogicOperator) {
            return false;
        }
        let (first, second) = (value(a), value(b));
        let len = first.len() + 1 + second.len();
        if len > MAX_VALUE {
            return false;
        }
        let mut phrase = [0u8; 32];
        phrase[..first.len()].copy_from_slice(first);
        phrase[first.len()] = b' ';
        phrase[first.len() + 1..len].copy_from_slice(second);
        let Some(found) = keyword_type(&phrase[..len]) else {
            return false;
        };
        let found = token_type(found);
        if found == Ty::Bareword && !self.lexer.quirks.merge_bareword_phrases {
            return false;
        }
        let merged = &mut self.toks[i];
        merged.token_type = found;
        merged.val = phrase;
        merged.len = len;
        true
    }

    /// `COLLATE name`: does the name contain `_`?
    fn collation_has_underscore(&self, j: usize) -> bool {
        let text = value(&self.toks[j]);
        if self.lexer.quirks.collate_c_string {
            text.iter().take_while(|&&b| b != 0).any(|&b| b == b'_')
        } else {
            core::str::from_utf8(text).is_ok() && text.contains(&b'_')
        }
    }

    /// The fingerprint of the first `count` folded tokens.
    fn fingerprint(&mut self, count: usize) -> Fingerprint {
        // PHP's backtick "comment": an empty, unclosed backtick word at the end.
        if count > 2 {
            let last = &mut self.toks[count - 1];
            if last.token_type == Ty::Bareword && last.str_open == b'`' && last.len == 0 && last.str_close == 0 {
                last.token_type = Ty::Comment;
            }
        }
        // `count` is at most six: five tokens, or the pair that stopped folding as
        // evil from the fifth slot on.
        let mut types = [0u8; MAX_TOKENS + 3];
        for (c, token) in types.iter_mut().zip(&self.toks[..count]) {
            *c = type_char(token.token_type);
        }
        // As in C, the fingerprint ends at the first token without a type.
        let len = types.iter().position(|&c| c == 0).unwrap_or(types.len());
        if types[..len].contains(&b'X') {
            // Something unparsable (nested or MySQL `/*!` comments): just `X`.
            return Fingerprint { types: [b'X', 0, 0, 0, 0], len: 1 };
        }
        let len = len.min(MAX_TOKENS);
        let mut kept = [0u8; MAX_TOKENS];
        kept[..len].copy_from_slice(&types[..len]);
        // Cannot truncate: `len` is at most MAX_TOKENS.
        Fingerprint { types: kept, len: len as u8 }
    }

    /// The whitelist: false if this blacklisted fingerprint is a known benign shape.
    fn confirm(&self, fingerprint: &Fingerprint) -> bool {
        let fp = fingerprint.as_bytes();
        let input = self.lexer.input;
        let tokens = self.lexer.count;
        if fp.len() > 1 && fp.ends_with(b"c") && self.mentions_sp_password() {
            // SQL Server's audit log skips statements mentioning sp_password.
            return true;
        }
        let (first, second, third) = (&self.toks[0], &self.toks[1], &self.toks[2]);
        match fp {
            [_, b'U'] => {
                // `1 union` is common text; with more tokens read it is not.
                tokens != 2
            }
            [_, _] if second.val[0] == b'#' => false,
            [b'n', b'c'] if second.val[0] != b'/' => {
                // `foo --` or `foo #`: only a `/*` comment counts after a word.
                false
            }
            [b'1', b'c'] => {
                if second.val[0] == b'/' || tokens > 2 {
                    return true;
                }
                // `1234 --` is SQLi, `1234-ABCD--` (base64-like) is not. As in C,
                // the byte looked at is at the number's length, not its end.
                let at = |n: usize| input.get(n).copied();
                match at(first.len) {
                    // C compares a signed char: bytes >= 0x80 count as <= 32.
                    Some(ch) if (ch as i8) <= 32 => true,
                    Some(b'/') => at(first.len + 1) == Some(b'*'),
                    Some(b'-') => at(first.len + 1) == Some(b'-'),
                    _ => false,
                }
            }
            [_, _] => {
                // `1--` is a scan; `1-- foo` is someone's text.
                !(second.len > 2 && second.val[0] == b'-')
            }
            b"sos" | b"s&s" => {
                // `foo' + 'bar` is SQLi only as the middle of a quoted string.
                first.str_open == 0 && third.str_close == 0 && first.str_close == third.str_open
            }
            b"s&n" | b"n&1" | b"1&1" | b"1&v" | b"1&s" => {
                // `sexy and 17` is text; `sexy and 17<18` folded from more tokens.
                tokens != 3
            }
            [_, _, _] if second.token_type == Ty::Keyword => {
                // A keyword in the middle is text, unless MySQL's INTO OUTFILE/DUMPFILE.
                let text = value(second);
                text.len() >= 5
                    && if self.lexer.quirks.into_any_case {
                        text[..4].eq_ignore_ascii_case(b"INTO")
                    } else {
                        text.starts_with(b"INTO")
                    }
            }
            _ => true,
        }
    }

    fn mentions_sp_password(&self) -> bool {
        let input = self.lexer.input;
        if self.lexer.quirks.sp_password_exact {
            input.windows(11).any(|w| w == b"sp_password")
        } else {
            core::str::from_utf8(input).is_ok() && input.windows(11).any(|w| w.eq_ignore_ascii_case(b"sp_password"))
        }
    }
}

/// Names that are functions only when followed by `(`.
const PSEUDO_FUNCTIONS: [&[u8]; 11] = [
    b"USER_ID",
    b"USER_NAME",
    b"DATABASE",
    b"PASSWORD",
    b"USER",
    b"CURRENT_USER",
    b"CURRENT_DATE",
    b"CURRENT_TIME",
    b"CURRENT_TIMESTAMP",
    b"LOCALTIME",
    b"LOCALTIMESTAMP",
];

/// A token's text.
fn value(token: &Token) -> &[u8] {
    &token.val[..token.len.min(MAX_VALUE)]
}

fn value_is_one_of(token: &Token, words: &[&[u8]]) -> bool {
    words.iter().any(|w| value(token).eq_ignore_ascii_case(w))
}

fn type_char(ty: Ty) -> u8 {
    // `to_char` maps every type to an ASCII character (`None` to NUL).
    ty.to_char() as u8
}

fn is_leading_noise(token: &Token) -> bool {
    matches!(token.token_type, Ty::Comment | Ty::LeftParenthesis | Ty::SqlType) || is_unary_op(token)
}

/// `+`, `-`, `!`, `~`, `!!` or `NOT`.
fn is_unary_op(token: &Token) -> bool {
    token.token_type == Ty::Operator
        && match value(token) {
            [b'+' | b'-' | b'!' | b'~'] | b"!!" => true,
            text => text.eq_ignore_ascii_case(b"NOT"),
        }
}

/// `*`, `/`, `-`, `+` or `%`.
fn is_arithmetic_op(token: &Token) -> bool {
    token.token_type == Ty::Operator && matches!(value(token), [b'*' | b'/' | b'-' | b'+' | b'%'])
}

/// Is this fingerprint in libinjection's list? The table stores each as `0` plus
/// the fingerprint in upper case, with type `F`.
fn is_blacklisted(fingerprint: &[u8]) -> bool {
    if fingerprint.is_empty() {
        return false;
    }
    let mut key = [0u8; MAX_TOKENS + 1];
    key[0] = b'0';
    for (k, c) in key[1..].iter_mut().zip(fingerprint) {
        *k = c.to_ascii_uppercase();
    }
    keyword_type(&key[..=fingerprint.len()]) == Some(b'F')
}

/// An open-addressing hash table over libinjection's keyword table, built on
/// first use (once per process). A lookup hashes the upper-cased word and
/// compares one or two entries, where a binary search over the 9,686 entries
/// made about 14 comparisons: that search was a fifth of the time of a benign
/// GET with the default rules (perf, `cargo bench --bench evaluate`,
/// 2026-11-27). It also holds the first words of the table's phrases that are
/// not keywords ([`KeywordIndex::phrase_starts`]), so that the plain-words
/// shortcut asks one question per word.
struct KeywordIndex {
    /// Index + 1 into `SQL_KEYWORDS`, then into `phrase_starts` (index +
    /// 1 + `SQL_KEYWORDS.len()`); 0 is an empty slot.
    slots: Vec<u32>,
    mask: usize,
    /// By (class of the first byte, class of the last byte): the lengths of
    /// the words with those ends (bit `len`), keywords and phrase starts. Most
    /// words that are neither fail this test without being hashed.
    shapes: Vec<u64>,
    /// First words of phrases that are not keywords (`AT`, `CURRENT`, ...).
    phrase_starts: Vec<&'static [u8]>,
    /// The parts before the first `.` of the table's dotted words (`SYS`,
    /// `UTL_HTTP`, ...) that are neither keywords nor phrase starts; their
    /// slots follow the phrase starts'.
    dotted_heads: Vec<&'static [u8]>,
}

/// What [`KeywordIndex::find`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Found {
    /// A word of the table, with its type byte.
    Keyword(u8),
    /// The first word of a phrase, not a keyword by itself.
    PhraseStart,
    /// The part before the first `.` of a dotted word of the table, neither
    /// a keyword nor a phrase start by itself.
    DottedHead,
}

impl KeywordIndex {
    fn build() -> Self {
        let size = ((SQL_KEYWORDS.len() + 16) * 3).next_power_of_two();
        let mut index = KeywordIndex {
            slots: vec![0u32; size],
            mask: size - 1,
            shapes: vec![0u64; SHAPE_CLASSES * SHAPE_CLASSES],
            phrase_starts: Vec::new(),
            dotted_heads: Vec::new(),
        };
        for (i, k) in SQL_KEYWORDS.iter().enumerate() {
            index.insert(k.word.as_bytes(), i as u32 + 1);
        }
        for k in SQL_KEYWORDS.iter().filter(|k| k.token_type != b'F') {
            if let Some((first, _)) = k.word.split_once(' ')
                && index.find(first.as_bytes()).is_none()
            {
                index.phrase_starts.push(first.as_bytes());
                let slot = (SQL_KEYWORDS.len() + index.phrase_starts.len()) as u32;
                index.insert(first.as_bytes(), slot);
            }
        }
        for k in SQL_KEYWORDS.iter() {
            if let Some((head, _)) = k.word.split_once('.')
                && index.find(head.as_bytes()).is_none()
            {
                index.dotted_heads.push(head.as_bytes());
                let slot = (SQL_KEYWORDS.len() + index.phrase_starts.len() + index.dotted_heads.len()) as u32;
                index.insert(head.as_bytes(), slot);
            }
        }
        index
    }

    /// Adds an upper-case word; every word fits the shape bits (the longest has 29 bytes).
    fn insert(&mut self, upper: &[u8], slot: u32) {
        let mut at = fnv1a(upper) & self.mask;
        while self.slots[at] != 0 {
            at = (at + 1) & self.mask;
        }
        self.slots[at] = slot;
        if let Some(shape) = shape_slot(upper) {
            self.shapes[shape] |= 1 << upper.len().min(63);
        }
    }

    /// Looks `word` up ignoring ASCII case, without allocating: most words are
    /// turned away by the shape of their first and last bytes and their
    /// length; the others are upper-cased into a stack buffer and probe the
    /// hash table.
    fn find(&self, word: &[u8]) -> Option<Found> {
        // Longer than any keyword (the longest has 29 bytes).
        if word.len() > 32 {
            return None;
        }
        let (&first, &last) = (word.first()?, word.last()?);
        let shape = shape_class(first.to_ascii_uppercase()) * SHAPE_CLASSES + shape_class(last.to_ascii_uppercase());
        if self.shapes[shape] & (1 << word.len()) == 0 {
            return None;
        }
        let mut buf = [0u8; 32];
        let upper = &mut buf[..word.len()];
        for (u, b) in upper.iter_mut().zip(word) {
            *u = b.to_ascii_uppercase();
        }
        let upper = &*upper;
        let mut at = fnv1a(upper) & self.mask;
        loop {
            let slot = self.slots[at] as usize;
            if slot == 0 {
                return None;
            }
            if let Some(k) = SQL_KEYWORDS.get(slot - 1) {
                if k.word.as_bytes() == upper {
                    return Some(Found::Keyword(k.token_type));
                }
            } else {
                let extra = slot - 1 - SQL_KEYWORDS.len();
                match self.phrase_starts.get(extra) {
                    Some(&start) if start == upper => return Some(Found::PhraseStart),
                    Some(_) => {}
                    None if self.dotted_heads[extra - self.phrase_starts.len()] == upper => {
                        return Some(Found::DottedHead);
                    }
                    None => {}
                }
            }
            at = (at + 1) & self.mask;
        }
    }
}

/// Classes of a word's end bytes for [`KeywordIndex::shapes`]: upper-case
/// letters one each, everything else one class.
const SHAPE_CLASSES: usize = 27;

fn shape_class(upper: u8) -> usize {
    if upper.is_ascii_uppercase() { usize::from(upper - b'A') } else { 26 }
}

fn shape_slot(upper: &[u8]) -> Option<usize> {
    let (&first, &last) = (upper.first()?, upper.last()?);
    Some(shape_class(first) * SHAPE_CLASSES + shape_class(last))
}

fn fnv1a(bytes: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
}

/// Builds the keyword index if it is not built yet.
pub(crate) fn warm() {
    keyword_index();
}

fn keyword_index() -> &'static KeywordIndex {
    static INDEX: std::sync::OnceLock<KeywordIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(KeywordIndex::build)
}

/// Looks `word` up in libinjection's keyword table, ignoring ASCII case, without
/// allocating (see [`KeywordIndex::find`]).
fn keyword_type(word: &[u8]) -> Option<u8> {
    match keyword_index().find(word)? {
        Found::Keyword(ty) => Some(ty),
        Found::PhraseStart | Found::DottedHead => None,
    }
}

/// The tokenizer's lookup: a word's type, `Bareword` if it is not a keyword.
fn lookup_word(word: &str) -> Ty {
    keyword_type(word.as_bytes()).map_or(Ty::Bareword, token_type)
}

/// The token type for a type byte of the keyword table.
fn token_type(byte: u8) -> Ty {
    match byte {
        b'k' => Ty::Keyword,
        b'f' => Ty::Function,
        b'U' => Ty::Union,
        b'E' => Ty::Expression,
        b'T' => Ty::Tsql,
        b't' => Ty::SqlType,
        b'o' => Ty::Operator,
        b'&' => Ty::LogicOperator,
        b'v' => Ty::Variable,
        b'1' => Ty::Number,
        b'A' => Ty::Collate,
        b'B' => Ty::Group,
        b'F' => Ty::Fingerprint,
        _ => Ty::Bareword,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets one quirk: `true` follows C, `false` the crate.
    type SetQuirk = fn(&mut Quirks, bool);

    impl Quirks {
        /// libinjectionrs 0.1.1's behaviour everywhere.
        const LIBINJECTIONRS: Quirks = Quirks {
            into_any_case: false,
            merge_bareword_phrases: false,
            variable_name_only: false,
            sp_password_exact: false,
            collate_c_string: false,
        };

        /// Each quirk by name, with a setter: `true` follows C, `false` the crate.
        const EACH: [(&'static str, SetQuirk); 5] = [
            ("into_any_case", |q, c| q.into_any_case = c),
            ("merge_bareword_phrases", |q, c| q.merge_bareword_phrases = c),
            ("variable_name_only", |q, c| q.variable_name_only = c),
            ("sp_password_exact", |q, c| q.sp_password_exact = c),
            ("collate_c_string", |q, c| q.collate_c_string = c),
        ];
    }

    fn crate_fingerprint(input: &[u8]) -> Option<String> {
        let result = libinjectionrs::detect_sqli(input);
        result.is_injection().then(|| result.fingerprint.map(|f| f.to_string()).unwrap_or_default())
    }

    fn fingerprint_with(input: &[u8], quirks: Quirks) -> Option<String> {
        detect(input, quirks).map(|f| f.as_str().to_owned())
    }

    /// The plain-words shortcut as first written (a split on the separators,
    /// a class check per word, a keyword lookup and a scan of the phrase
    /// starts per word): the table-driven one must answer exactly as it does.
    fn plain_words_reference(input: &[u8]) -> bool {
        let sql_word =
            |word: &[u8]| keyword_type(word).is_some() || phrase_starts().iter().any(|p| p.eq_ignore_ascii_case(word));
        let sql_words =
            |word: &[u8]| sql_word(word) || word.iter().enumerate().any(|(i, &b)| b == b'.' && sql_word(&word[..i]));
        if input.windows(2).any(|w| w == b"--") {
            return false;
        }
        for word in input.split(|&b| matches!(b, b' ' | b'/' | b'-' | b':' | b',')) {
            if !word.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || (b >= 0x80 && b != 0xa0)) {
                return false;
            }
            let Some(&first) = word.first() else { continue };
            if first.is_ascii_digit() {
                for (i, &b) in word.iter().enumerate().skip(1) {
                    let risky = match b {
                        b'.' => !(word[i - 1].is_ascii_digit() && word.get(i + 1).is_some_and(u8::is_ascii_digit)),
                        b'0'..=b'9' => false,
                        _ => sql_words(&word[i..]),
                    };
                    if risky {
                        return false;
                    }
                }
            } else if first == b'.' || sql_words(word) {
                return false;
            }
        }
        true
    }

    /// The quirks that explain a difference from the crate: those whose switch
    /// alone changes the answer, from our behaviour or from the crate's.
    fn explained_by(input: &[u8]) -> Vec<&'static str> {
        let answer = |quirks| detect(input, quirks).is_some();
        let switched = |base: Quirks, set: SetQuirk, c: bool| {
            let mut quirks = base;
            set(&mut quirks, c);
            quirks
        };
        Quirks::EACH
            .iter()
            .filter(|&&(_, set)| {
                answer(switched(Quirks::LIBINJECTION, set, false)) != answer(Quirks::LIBINJECTION)
                    || answer(switched(Quirks::LIBINJECTIONRS, set, true)) != answer(Quirks::LIBINJECTIONRS)
            })
            .map(|(name, _)| *name)
            .collect()
    }

    #[test]
    fn classic_injections_are_sqli() {
        let attacks: &[&[u8]] = &[
            b"1' OR '1'='1",
            b"1' or 1=1 --",
            b"' OR 1=1#",
            b"admin'--",
            b"1 UNION SELECT username, password FROM users",
            b"-1 union all select 1,2,concat(user(),0x3a,version())--",
            b"1; DROP TABLE users",
            b"1'; WAITFOR DELAY '0:0:5'--",
            b"1 AND SLEEP(5)",
            b"1) or benchmark(10000000,md5(1))#",
            b"\" or \"\"=\"",
            b"1 /*!50000union*/ select 1",
            b"' into outfile '/var/www/shell.php",
            b"1 or @@version=1",
        ];
        for input in attacks {
            let fp = sqli_fingerprint(input);
            assert!(fp.is_some(), "{:?} should be SQLi", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn benign_text_is_not_sqli() {
        let benign: &[&[u8]] = &[
            b"",
            b"hello",
            b"hello world",
            b"O'Brien",
            b"Conan O'Brien's show",
            b"select a product",
            b"Please select a product from the list",
            b"tea or coffee",
            b"Are you in or out? Let me know, or not.",
            b"42",
            b"3.14159",
            b"-17",
            b"1,234,567.89",
            b"+1 (555) 010-9999",
            b"jane.doe@example.com",
            b"o'neil+tag@example.co.uk",
            b"2026-11-27",
            b"27/11/2026 21:37",
            b"2026-11-27T21:37:59Z",
            b"rock 'n' roll",
            b"\"quoted\" text",
            b"ORDER-1234",
            b"C:\\Users\\me\\file.txt",
            b"/usr/share/doc",
        ];
        for input in benign {
            let fp = sqli_fingerprint(input);
            assert!(fp.is_none(), "{:?} flagged as {fp:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn fingerprints_match_libinjection() {
        let cases: &[(&[u8], &str)] = &[
            (b"1' OR '1'='1", "s&sos"),
            (b"1 UNION SELECT 1,2--", "1UE1c"),
            (b"1 /*!50000union*/ select 1", "X"),
            (b"1' into outfile 'x", "sks"),
        ];
        for &(input, expected) in cases {
            let fp = sqli_fingerprint(input).map(|f| f.as_str().to_owned());
            assert_eq!(fp.as_deref(), Some(expected), "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn keyword_table_is_sorted_for_binary_search() {
        assert!(SQL_KEYWORDS.windows(2).all(|w| w[0].word.as_bytes() < w[1].word.as_bytes()));
        assert!(SQL_KEYWORDS.iter().all(|k| k.word.len() < 32));
    }

    #[test]
    fn keyword_lookup_ignores_case_and_rejects_long_words() {
        assert_eq!(lookup_word("select"), Ty::Expression);
        assert_eq!(lookup_word("SeLeCt"), Ty::Expression);
        assert_eq!(lookup_word("union all"), Ty::Union);
        assert_eq!(lookup_word("hello"), Ty::Bareword);
        assert_eq!(lookup_word(&"a".repeat(100)), Ty::Bareword);
        assert_eq!(lookup_word(""), Ty::Bareword);
        assert!(is_blacklisted(b"s&sos"));
        assert!(!is_blacklisted(b""));
    }

    #[test]
    fn every_table_word_is_found_in_any_case() {
        for k in SQL_KEYWORDS.iter() {
            assert_eq!(keyword_type(k.word.as_bytes()), Some(k.token_type), "{:?}", k.word);
            assert_eq!(keyword_type(k.word.to_ascii_lowercase().as_bytes()), Some(k.token_type), "{:?}", k.word);
        }
    }

    #[test]
    fn quirks_follow_c_libinjection() {
        // Lower-case INTO OUTFILE is SQLi in C; the crate needs upper case.
        assert!(detect_sqli(b"1 into outfile 'asd'"));
        assert!(detect(b"1 into outfile 'asd'", Quirks::LIBINJECTIONRS).is_none());
        // `LOCK` `IN` merge, and `LOCK IN SHARE MODE` becomes one keyword.
        let mut folder = Folder::new(
            b"LOCK IN SHARE MODE",
            SqliFlags::FLAG_QUOTE_NONE | SqliFlags::FLAG_SQL_ANSI,
            Quirks::LIBINJECTION,
        );
        assert_eq!(folder.fold(), 1);
        assert_eq!(value(&folder.toks[0]), b"LOCK IN SHARE MODE");
        // `@user(` calls the function USER.
        let mut folder =
            Folder::new(b"@user(", SqliFlags::FLAG_QUOTE_NONE | SqliFlags::FLAG_SQL_ANSI, Quirks::LIBINJECTION);
        let count = folder.fold();
        assert_eq!(folder.fingerprint(count).as_str(), "f(");
    }

    /// Percent-decodes a form value: `+` is a space, `%XX` a byte, a bad `%` stays.
    fn form_decode(value: &str) -> Vec<u8> {
        let bytes = value.as_bytes();
        let hex = |i: usize| bytes.get(i).and_then(|&b| char::from(b).to_digit(16));
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let byte = match (bytes[i], hex(i + 1), hex(i + 2)) {
                (b'+', _, _) => b' ',
                (b'%', Some(high), Some(low)) => {
                    i += 2;
                    // Cannot truncate: two hex digits.
                    (high * 16 + low) as u8
                }
                (other, _, _) => other,
            };
            out.push(byte);
            i += 1;
        }
        out
    }

    /// (id, class, sample) of every SQLi and benign record, or None if the corpus
    /// is absent.
    fn corpus() -> Option<Vec<(String, String, Vec<u8>)>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/libinjection.jsonl");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: corpus {path} not found");
            return None;
        };
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
            let field = |name: &str| record[name].as_str().unwrap_or_default().to_owned();
            let class = field("class");
            if class != "sqli" && class != "benign" {
                continue;
            }
            let uri = field("uri");
            let q = uri.strip_prefix("/search?q=").expect("uri is /search?q=<value>");
            samples.push((field("id"), class, form_decode(q)));
        }
        Some(samples)
    }

    /// The ids where C libinjection flags SQLi and libinjectionrs 0.1.1 does not,
    /// with the departure that explains each (see the module docs).
    const CRATE_GAP: [(&str, &str); 18] = [
        ("libinjection-sqli-hackers-L236", "into_any_case"),
        ("libinjection-sqli-hackers-L237", "into_any_case"),
        ("libinjection-sqli-hackers-L242", "into_any_case"),
        ("libinjection-sqli-hackers-L244", "into_any_case"),
        ("libinjection-sqli-hackers-L245", "into_any_case"),
        ("libinjection-sqli-hackers-L246", "into_any_case"),
        ("libinjection-sqli-hackers-L248", "into_any_case"),
        ("libinjection-sqli-hackers-L250", "into_any_case"),
        ("libinjection-sqli-hackers-L252", "into_any_case"),
        ("libinjection-sqli-hackers-L259", "into_any_case"),
        ("libinjection-sqli-misc-L226", "into_any_case"),
        ("libinjection-sqli-misc-L228", "into_any_case"),
        ("libinjection-sqli-misc-L230", "into_any_case"),
        ("libinjection-sqli-misc-L311", "merge_bareword_phrases"),
        ("libinjection-sqli-rsalgado-bhusa2013-L142", "merge_bareword_phrases"),
        ("libinjection-sqli-sqlmap-20160724-L61", "merge_bareword_phrases"),
        ("libinjection-sqli-sqlmap-20160724-L62", "merge_bareword_phrases"),
        ("libinjection-sqli-sqlmap-20160724-L63", "merge_bareword_phrases"),
    ];

    /// The plain-words shortcut rests on these facts about libinjection's table.
    #[test]
    fn plain_words_shortcut_premises() {
        // No fingerprint of barewords, numbers, operators, colons and commas alone is listed.
        for len in 1..=MAX_TOKENS {
            for code in 0..5u32.pow(len as u32) {
                let fp: Vec<u8> = (0..len).map(|i| b"n1o:,"[(code / 5u32.pow(i as u32) % 5) as usize]).collect();
                assert!(!is_blacklisted(&fp), "{:?} is listed", String::from_utf8_lossy(&fp));
            }
        }
        // Every word of every keyword phrase starts with a letter or `_`: an
        // operator or colon token is never merged into a phrase.
        for k in SQL_KEYWORDS.iter().filter(|k| k.token_type != b'F' && k.word.contains(' ')) {
            for w in k.word.split(' ') {
                assert!(w.as_bytes()[0].is_ascii_alphabetic() || w.starts_with('_'), "phrase {:?}", k.word);
            }
        }
        // `:` is the only separator the tokenizer looks up with the byte after
        // it (the two-byte operators); with a plain byte after it, the result
        // is an operator or nothing (then a colon).
        let plain = (b'0'..=b'9').chain(b'a'..=b'z').chain(b'A'..=b'Z').chain(*b"_. /-:");
        for b in plain {
            let t = keyword_type(&[b':', b]);
            assert!(t.is_none() || t == Some(b'o'), "`:{}` is {t:?}", b as char);
        }
        // No keyword starts with a digit (a number's leftover is only looked
        // up from a letter or `_`).
        for k in SQL_KEYWORDS.iter().filter(|k| k.token_type != b'F') {
            assert!(!k.word.as_bytes()[0].is_ascii_digit(), "keyword {:?}", k.word);
        }
        // The phrases whose first word is not a keyword are known ones.
        let mut starts: Vec<&str> = phrase_starts().iter().map(|w| core::str::from_utf8(w).unwrap()).collect();
        starts.sort_unstable();
        assert_eq!(starts, ["AT", "CURRENT", "FULL", "NEXT", "PREVIOUS"]);
    }

    #[test]
    fn plain_words_shortcut() {
        for plain in [
            "running shoes",
            "42",
            "price_asc",
            "",
            "  a  b ",
            "4f2a9c1e7b",
            "dark",
            "12.50",
            "items.0.sku",
            "1.2.3",
            "x-y",
            "2025-08-02",
            "10:30:00",
            "/help/articles/5614",
            "https://blog.example.net/settings/profile",
            "c7df2d26-3fc6-4e8a-9b1c-0d2e",
            "1e-5",
            "a::b",
            "a,b, c",
            "Zoë, Brontë",
            "東京",
            "5é",
        ] {
            assert!(plain_words(plain.as_bytes()), "{plain:?}");
            assert!(detect(plain.as_bytes(), Quirks::LIBINJECTION).is_none());
        }
        // Keywords, phrase starts, a keyword after a number, and any other byte
        // all go to the full algorithm.
        for not_plain in [
            "1 union select 1",
            "1union select",
            "current path",
            "a or b",
            "it's",
            "a\tb",
            "1e5union",
            "1e-union",
            "/select/x",
            "a--b",
            "1-- x",
            "x/*y",
            "current/path",
            "a:=b",
            "voilà",
            "a\u{a0}b",
            "x;y",
        ] {
            assert!(!plain_words(not_plain.as_bytes()), "{not_plain:?}");
        }
        assert!(detect_sqli(b"1 union select 1"));
    }

    /// The corpus's SQL injections with their spaces replaced by each other
    /// separator (and by bytes the shortcut must refuse): the shortcut never
    /// passes a variant the algorithm flags.
    #[test]
    fn plain_words_refuse_corpus_sqli_with_other_separators() {
        let Some(samples) = corpus() else { return };
        let seps: [&[u8]; 9] = [b"/", b"-", b":", b",", b"\xa0", b"\xc3\xa0", b"\t", b"\xc3\xa9", b"::"];
        let mut checked = 0;
        for (id, _, sample) in samples.iter().filter(|(_, c, _)| c == "sqli") {
            for sep in seps {
                let variant: Vec<u8> = sample.split(|&b| b == b' ').collect::<Vec<_>>().join(sep);
                if plain_words(&variant) {
                    checked += 1;
                    assert_eq!(
                        fingerprint_with(&variant, Quirks::LIBINJECTION),
                        None,
                        "{id}: the shortcut passes {:?}",
                        String::from_utf8_lossy(&variant)
                    );
                }
            }
        }
        eprintln!("variants the shortcut passes, none flagged: {checked}");
    }

    /// Differential test against libinjectionrs over the libinjection corpus.
    ///
    /// Run with `cargo test corpus -- --nocapture` to see the summary.
    #[test]
    fn corpus_differential() {
        let Some(samples) = corpus() else { return };
        let show = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
        for class in ["sqli", "benign"] {
            let (mut total, mut agree, mut flagged_ours, mut flagged_crate, mut plain) = (0, 0, 0, 0, 0);
            let (mut ours_only, mut crate_only, mut compat_diff) = (Vec::new(), Vec::new(), Vec::new());
            for (id, _, sample) in samples.iter().filter(|(_, c, _)| c == class) {
                total += 1;
                let ours = fingerprint_with(sample, Quirks::LIBINJECTION);
                assert!(
                    !(plain_words(sample) && ours.is_some()),
                    "{id}: the plain-words shortcut passes SQLi {:?}: {:?}",
                    ours,
                    show(sample)
                );
                plain += usize::from(plain_words(sample));
                assert_eq!(plain_words(sample), plain_words_reference(sample), "{id}: {:?}", show(sample));
                let theirs = crate_fingerprint(sample);
                let compat = fingerprint_with(sample, Quirks::LIBINJECTIONRS);
                flagged_ours += usize::from(ours.is_some());
                flagged_crate += usize::from(theirs.is_some());
                if compat != theirs {
                    compat_diff.push((id, show(sample), compat.clone(), theirs.clone()));
                }
                match (&ours, &theirs) {
                    (Some(_), None) => ours_only.push((id, show(sample), ours.clone(), explained_by(sample))),
                    (None, Some(_)) => crate_only.push((id, show(sample), theirs.clone(), explained_by(sample))),
                    _ => agree += 1,
                }
            }
            eprintln!(
                "{class}: samples {total}, flagged ours {flagged_ours} crate {flagged_crate}; \
                 agree {agree}, ours-only {}, crate-only {}; crate-compatible mode differs on {}; \
                 plain words (shortcut) {plain}",
                ours_only.len(),
                crate_only.len(),
                compat_diff.len()
            );
            for (label, list) in [("ours-only", &ours_only), ("crate-only", &crate_only)] {
                for (id, sample, fp, why) in list.iter().take(20) {
                    eprintln!("  {label} {id} {fp:?} explained by {why:?}: {sample:?}");
                }
            }
            for (id, sample, ours, theirs) in compat_diff.iter().take(20) {
                eprintln!("  compat-diff {id} ours {ours:?} crate {theirs:?}: {sample:?}");
            }
            assert!(compat_diff.is_empty(), "with the crate's quirks, results must equal the crate's");
            assert!(crate_only.is_empty(), "the crate flags nothing that C libinjection misses");
            let mut gap: Vec<(&str, &str)> = ours_only
                .iter()
                .map(|(id, _, _, why)| (id.as_str(), why.first().copied().unwrap_or("unexplained")))
                .collect();
            gap.sort_unstable();
            let expected: Vec<(&str, &str)> = if class == "sqli" { CRATE_GAP.to_vec() } else { Vec::new() };
            assert_eq!(gap, expected, "ours-only samples and the quirk behind each");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of SQL and prose, including the triggers of every quirk.
        #[rustfmt::skip]
        const FRAGMENTS: &[&str] = &[
            " ", " ", "1", "42", "0x1f", "1.e", "2E", ".5", "'", "'", "\"", "`", "a", "foo",
            "O'Brien", "select", "SELECT", "union", "UNION ALL", "from", "where", "or", "OR",
            "and", "AND", "not", "in", "IN", "like", "into", "INTO", "outfile", "lock", "share",
            "mode", "boolean", "user", "@", "@@version", "@user", "(", ")", ",", ";", "=", "<",
            ">", "+", "-", "*", "/", "|", "&", "!", "~", "::", "int", "collate", "utf8_bin",
            "--", "-- ", "#", "/*", "*/", "/*!", "{", "}", "\\", "\\N", "$", "$$", "[", "]",
            "sp_password", "SP_Password", "\n", "\t", ".", "e", "if", "sleep", "benchmark",
            "char", "version()", "table", "1 into outfile 'x'", " lock in share mode ",
            " in boolean mode", "@user(", " collate utf8_bin", "SP_PASSWORD",
        ];

        fn sqlish() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                prop::collection::vec(prop::sample::select(FRAGMENTS), 0..12)
                    .prop_map(|parts| parts.concat().into_bytes()),
                "[a-zA-Z0-9 '\"`@#$%&()*+,\\-./:;<=>?\\[\\]^_{|}~!\\\\\t\n]{0,24}".prop_map(String::into_bytes),
            ]
        }

        /// A word for the plain-words property: a keyword of the table (in
        /// any case), a phrase word, a number, a number glued to a keyword, or
        /// random letters, digits and `_`.
        fn plain_word() -> impl Strategy<Value = String> {
            let keywords: Vec<&'static str> = SQL_KEYWORDS
                .iter()
                .filter(|k| k.token_type != b'F')
                .flat_map(|k| k.word.split(' '))
                .filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .collect();
            let keyword = prop::sample::select(keywords);
            // The table's dotted words (`SYS.FN_MY_PERMISSIONS`), cut
            // anywhere and followed by a few more bytes.
            let dotted: Vec<&'static str> = SQL_KEYWORDS
                .iter()
                .filter(|k| k.token_type != b'F' && k.word.contains('.') && !k.word.contains(' '))
                .map(|k| k.word)
                .collect();
            let dotted = (prop::sample::select(dotted), 0..40usize, "[a-z._]{0,3}", any::<bool>()).prop_map(
                |(d, cut, tail, lower)| {
                    let word = format!("{}{tail}", &d[..cut.min(d.len())]);
                    if lower { word.to_ascii_lowercase() } else { word }
                },
            );
            prop_oneof![
                dotted,
                keyword.clone().prop_map(|k| k.to_string()),
                keyword.clone().prop_map(|k| k.to_ascii_lowercase()),
                (0u32..1000, keyword.clone()).prop_map(|(n, k)| format!("{n}{k}")),
                prop::sample::select(vec![
                    "current", "next", "previous", "value", "path", "1e5", "0x", "0b1", "1d", "1f"
                ])
                .prop_map(str::to_string),
                (keyword.clone(), "[a-z0-9_.]{0,6}").prop_map(|(k, rest)| format!("{k}.{rest}")),
                ("[a-z_][a-z0-9_]{0,5}", keyword).prop_map(|(w, k)| format!("{w}.{k}")),
                ("[0-9]{1,3}", "[0-9.]{0,6}", "[a-z]{0,3}").prop_map(|(a, b, c)| format!("{a}.{b}{c}")),
                "[a-zA-Z0-9_]{1,12}",
                "[a-zA-Z0-9_.]{1,12}",
                "[a-zA-Z0-9_.éü東]{1,10}",
            ]
        }

        /// Separators between words: those the plain-words shortcut accepts,
        /// and bytes it must not (quotes, comments, operators, white space).
        fn separator() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                " ", " ", " ", "/", "-", ":", "::", "--", "/ ", " -", "-:", "e-", "(", ")", "'", "#", "/*", "=", ",",
                ", ", ";", "@", "|", "\"", "!", "\u{a0}", "à", "é",
            ])
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(20_000))]

            /// With the crate's quirks we give exactly the crate's answers, so the
            /// folding, blacklist, whitelist and contexts written here match it.
            #[test]
            fn crate_quirks_give_the_crates_answers(input in sqlish()) {
                prop_assert_eq!(
                    fingerprint_with(&input, Quirks::LIBINJECTIONRS),
                    crate_fingerprint(&input)
                );
            }

            /// Our answers equal the crate's, except where a documented quirk
            /// (followed from C libinjection) explains the difference.
            #[test]
            fn differences_from_the_crate_are_documented_quirks(input in sqlish()) {
                let ours = detect_sqli(&input);
                let theirs = crate_fingerprint(&input).is_some();
                prop_assert!(
                    ours == theirs || !explained_by(&input).is_empty(),
                    "unexplained difference on {:?}: ours {}, crate {}",
                    String::from_utf8_lossy(&input), ours, theirs
                );
            }

            /// The plain-words shortcut never passes what the algorithm flags,
            /// in C's behaviour or the crate's, over words of the keyword
            /// table, phrase words, numbers glued to keywords and random words.
            #[test]
            fn plain_words_are_never_sqli(
                words in prop::collection::vec(
                    (plain_word(), separator()),
                    0..8,
                )
            ) {
                let input: Vec<u8> = words.iter().flat_map(|(w, sep)| [w.as_bytes(), sep.as_bytes()].concat()).collect();
                if plain_words(&input) {
                    prop_assert_eq!(fingerprint_with(&input, Quirks::LIBINJECTION), None);
                    prop_assert_eq!(fingerprint_with(&input, Quirks::LIBINJECTIONRS), None);
                }
            }

            /// The table-driven shortcut answers as the split-and-check one did,
            /// over plain words, keywords and every separator.
            #[test]
            fn plain_words_equal_the_reference(
                words in prop::collection::vec((plain_word(), separator()), 0..8),
                tail in prop::collection::vec(any::<u8>(), 0..4),
            ) {
                let mut input: Vec<u8> = words.iter().flat_map(|(w, sep)| [w.as_bytes(), sep.as_bytes()].concat()).collect();
                input.extend_from_slice(&tail);
                prop_assert_eq!(plain_words(&input), plain_words_reference(&input));
            }

            /// The same with one separator throughout (`1\u{a0}union\u{a0}select\u{a0}1`).
            #[test]
            fn plain_words_with_one_separator_are_never_sqli(
                words in prop::collection::vec(plain_word(), 0..7),
                sep in separator(),
            ) {
                let input = words.join(sep).into_bytes();
                if plain_words(&input) {
                    prop_assert_eq!(fingerprint_with(&input, Quirks::LIBINJECTION), None);
                    prop_assert_eq!(fingerprint_with(&input, Quirks::LIBINJECTIONRS), None);
                }
            }

            /// No input makes the detector panic, whatever its bytes.
            #[test]
            fn any_bytes_are_fine(input in prop::collection::vec(any::<u8>(), 0..64)) {
                let _ = sqli_fingerprint(&input);
            }
        }
    }
}
