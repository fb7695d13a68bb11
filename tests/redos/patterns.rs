//! Catastrophic-backtracking patterns and their attack inputs, shared by
//! tests/redos.rs (growth-ratio test) and benches/redos.rs (criterion).
//!
//! Each attack input is built to make a backtracking engine explore
//! exponentially (or polynomially) many paths: a long run the pattern almost
//! matches, then a byte that makes it fail, so a search must scan the whole
//! input. rampart compiles these into automata (regex-automata: lazy DFA,
//! falling back to a PikeVM), so time grows linearly with the input.

/// A pattern, the rule that runs it, and how to build an attack of `n` bytes.
pub struct Redos {
    /// Short name (bench id, test messages).
    pub name: &'static str,
    /// The regex, as written in a rule between backticks.
    pub pattern: &'static str,
    /// The repeated unit of the attack.
    pub unit: &'static str,
    /// What ends the attack (makes the match fail at the last moment).
    pub tail: &'static str,
}

/// The corpus: classic textbook cases, validation regexes found vulnerable
/// in the wild, and CRS-style nested quantifiers.
pub const PATTERNS: &[Redos] = &[
    Redos { name: "nested-plus", pattern: r"(a+)+$", unit: "a", tail: "!" },
    Redos { name: "alternation-same", pattern: r"(a|a)*b", unit: "a", tail: "!" },
    Redos { name: "alternation-overlap", pattern: r"(a|aa)+$", unit: "a", tail: "!" },
    Redos { name: "dot-star-counted", pattern: r"(.*a){12}", unit: "b", tail: "aaaaaaaaaaa" },
    Redos { name: "words-and-spaces", pattern: r"^(\w+\s?)*$", unit: "word ", tail: "!" },
    Redos { name: "nested-star-plus", pattern: r"(x+x+)+y", unit: "x", tail: "!" },
    Redos { name: "optional-counted", pattern: r"^(a?){25}(a){25}$", unit: "a", tail: "" },
    Redos { name: "owasp-letters", pattern: r"^(([a-z])+.)+[A-Z]([a-z])+$", unit: "aaaaaaaa", tail: "!" },
    Redos {
        name: "email-validation",
        pattern: r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
        unit: "a",
        tail: "!",
    },
    Redos {
        name: "email-rfc-like",
        pattern: r"^[\w!#$%&'*+/=?^{|}~-]+(?:\.[\w!#$%&'*+/=?^{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
        unit: "a.",
        tail: "@a.a-",
    },
    Redos {
        name: "crs-sqli-nested",
        pattern: r"(?i)(?:\b(?:select|union)\b(?:[\s\x0b]|/\*.*?\*/)+)+from\b",
        unit: "select /**/ ",
        tail: "x",
    },
    Redos { name: "crs-assignments", pattern: r"(?:[\s\x0b]*(?:[\w\-]+\s*)+)+=", unit: "a-b ", tail: "!" },
    Redos { name: "crs-quoted-strings", pattern: r#"(?:"(?:[^"\\]|\\.)*")+!"#, unit: r#""a\"b""#, tail: "?" },
    Redos { name: "crs-tags", pattern: r"(?:<[^>]*>\s*)+<script", unit: "<a> ", tail: "<scrip" },
    Redos { name: "unicode-letters", pattern: r"(?u)(\p{L}+)+$", unit: "é", tail: "!" },
    Redos { name: "digits-then-dot", pattern: r"^(\d+)*\.\d+$", unit: "1", tail: "." },
    Redos {
        name: "html-attributes",
        pattern: r#"<\w+(\s+\w+=("[^"]*"|'[^']*'|[^\s>]+))*\s*>"#,
        unit: " a=b",
        tail: "",
    },
];

impl Redos {
    /// The attack input: `unit` repeated to about `n` bytes, then `tail`.
    pub fn attack(&self, n: usize) -> Vec<u8> {
        let mut s = Vec::with_capacity(n + self.tail.len());
        while s.len() + self.unit.len() <= n {
            s.extend_from_slice(self.unit.as_bytes());
        }
        s.extend_from_slice(self.tail.as_bytes());
        s
    }

    /// A one-rule rule file that runs the pattern over the raw body.
    pub fn rule(&self) -> String {
        format!(
            "rule 1 \"redos {}\" {{\n    severity  critical\n    inspect   body\n    transform none\n    match     regex `{}`\n}}\n",
            self.name, self.pattern
        )
    }
}

/// Attack sizes: 1 KiB to 64 KiB.
pub const SIZES: [usize; 4] = [1 << 10, 4 << 10, 16 << 10, 64 << 10];
