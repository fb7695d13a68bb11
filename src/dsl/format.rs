//! The formatter: prints a syntax tree as canonical rule text.
//!
//! The output parses back to an equal tree (spans aside); `rampart fmt` uses it
//! and a property test holds it to that.

use std::fmt::Write;

use super::ast::*;
use super::parser::Comment;
use super::span::SourceFile;

/// Prints a whole file: items separated by blank lines, four-space indents.
pub fn format_file(file: &File) -> String {
    let mut out = String::new();
    for (n, item) in file.items.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        match item {
            Item::Include(inc) => {
                let _ = writeln!(out, "include {}", quote(&inc.path.value));
            }
            Item::Rule(rule) => format_rule(rule, &mut out),
            Item::Exclude(ex) => {
                format_exclude(ex, &mut out);
                out.push('\n');
            }
        }
    }
    out
}

/// Prints one rule, ending with a newline.
pub fn format_rule(rule: &Rule, out: &mut String) {
    let _ = write!(out, "rule {}", rule.id.value);
    if !rule.message.value.is_empty() {
        let _ = write!(out, " {}", quote(&rule.message.value));
    }
    out.push_str(" {\n");
    for (_, line) in rule_lines(rule) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("}\n");
}

/// The statement lines of a rule, in canonical order, each with the source
/// offset of the statement (for placing comments).
fn rule_lines(rule: &Rule) -> Vec<(u32, String)> {
    let mut lines = Vec::new();
    let mut line = |span: Span, key: &str, value: String| {
        lines.push((span.start, format!("    {key:<9} {value}")));
    };
    if let Some(p) = &rule.phase {
        line(
            p.span,
            "phase",
            match p.value {
                PhaseName::Headers => "headers".to_owned(),
                PhaseName::Body => "body".to_owned(),
            },
        );
    }
    if let Some(p) = &rule.paranoia {
        line(p.span, "paranoia", p.value.to_string());
    }
    if let Some(s) = &rule.severity {
        line(s.span, "severity", s.value.name().to_owned());
    }
    if !rule.tags.is_empty() {
        let tags: Vec<String> = rule.tags.iter().map(|t| tag_text(&t.value)).collect();
        line(rule.tags[0].span, "tags", tags.join(" "));
    }
    if let Some(targets) = &rule.inspect {
        line(targets.span, "inspect", targets_text(&targets.value));
    }
    if let Some(t) = &rule.transform {
        let text = if t.value.is_empty() {
            "none".to_owned()
        } else {
            t.value.iter().map(|t| t.value.name()).collect::<Vec<_>>().join(", ")
        };
        line(t.span, "transform", text);
    }
    if let Some(m) = &rule.matcher {
        let not = if m.value.negated { "not " } else { "" };
        line(m.span, "match", format!("{not}{}", operator_text(&m.value.op)));
    }
    if let Some(w) = &rule.when {
        line(w.span, "when", expr_text(&w.value));
    }
    if let Some(a) = &rule.action {
        line(
            a.span,
            "action",
            match a.value {
                Action::Deny(None) => "deny".to_owned(),
                Action::Deny(Some(status)) => format!("deny {status}"),
                Action::Allow => "allow".to_owned(),
                Action::Log => "log".to_owned(),
                Action::Score(n) => format!("score {n}"),
            },
        );
    }
    lines
}

/// Prints a whole file like [`format_file`], keeping its `#` comments: a
/// comment on its own line stays before the item or statement that follows it,
/// a comment after code stays at the end of that item's or statement's line.
pub fn format_file_with_comments(file: &File, comments: &[Comment], source: &SourceFile) -> String {
    let line_of = |offset: u32| source.line_column(offset as usize).0;
    let mut out = String::new();
    let mut next = 0;
    let own_line = |c: &Comment| format!("#{}", c.text);
    for (n, item) in file.items.iter().enumerate() {
        let span = match item {
            Item::Include(i) => i.span,
            Item::Rule(r) => r.span,
            Item::Exclude(e) => e.span,
        };
        if n > 0 {
            out.push('\n');
        }
        while next < comments.len() && comments[next].offset < span.start {
            if comments[next].trailing && n > 0 {
                // A trailing comment of the previous item: put it back on its line.
                if out.ends_with("\n\n") {
                    out.pop();
                    out.pop();
                    let _ = write!(out, " #{}\n\n", comments[next].text);
                } else {
                    let _ = writeln!(out, "{}", own_line(&comments[next]));
                }
            } else {
                let _ = writeln!(out, "{}", own_line(&comments[next]));
            }
            next += 1;
        }
        match item {
            Item::Include(inc) => {
                let _ = writeln!(out, "include {}", quote(&inc.path.value));
            }
            Item::Exclude(ex) => {
                format_exclude(ex, &mut out);
                out.push('\n');
            }
            Item::Rule(rule) => {
                let inside: Vec<&Comment> = comments[next..].iter().take_while(|c| c.offset < span.end).collect();
                next += inside.len();
                let _ = write!(out, "rule {}", rule.id.value);
                if !rule.message.value.is_empty() {
                    let _ = write!(out, " {}", quote(&rule.message.value));
                }
                out.push_str(" {");
                let head_line = line_of(span.start);
                let mut placed = vec![false; inside.len()];
                for (i, c) in inside.iter().enumerate() {
                    if c.trailing && line_of(c.offset) == head_line {
                        let _ = write!(out, " #{}", c.text);
                        placed[i] = true;
                    }
                }
                out.push('\n');
                let lines = rule_lines(rule);
                // An own-line comment belongs to the statement that follows it in the source.
                let owner = |c: &Comment| lines.iter().map(|(s, _)| *s).filter(|s| *s > c.offset).min();
                for (start, text) in &lines {
                    let stmt_line = line_of(*start);
                    for (i, c) in inside.iter().enumerate() {
                        if !placed[i] && !c.trailing && owner(c) == Some(*start) {
                            let _ = writeln!(out, "    {}", own_line(c));
                            placed[i] = true;
                        }
                    }
                    out.push_str(text);
                    for (i, c) in inside.iter().enumerate() {
                        if !placed[i] && c.trailing && line_of(c.offset) == stmt_line {
                            let _ = write!(out, " #{}", c.text);
                            placed[i] = true;
                        }
                    }
                    out.push('\n');
                }
                for (i, c) in inside.iter().enumerate() {
                    if !placed[i] {
                        let _ = writeln!(out, "    {}", own_line(c));
                    }
                }
                out.push_str("}\n");
            }
        }
    }
    let mut rest = comments[next..].iter().peekable();
    if let Some(c) = rest.next_if(|c| c.trailing) {
        out.pop();
        let _ = writeln!(out, " #{}", c.text);
    }
    if rest.peek().is_some() && !file.items.is_empty() {
        out.push('\n');
    }
    for c in rest {
        let _ = writeln!(out, "{}", own_line(c));
    }
    out
}

fn format_exclude(ex: &Exclude, out: &mut String) {
    let is_tag = matches!(ex.rules.first(), Some(RuleSelector::Tag(_)));
    out.push_str(if is_tag { "exclude tag " } else { "exclude rule " });
    let rules: Vec<String> = ex
        .rules
        .iter()
        .map(|r| match r {
            RuleSelector::Id(id) => id.value.to_string(),
            RuleSelector::Range(a, b) => format!("{}..{}", a.value, b.value),
            RuleSelector::Tag(t) => tag_text(&t.value),
        })
        .collect();
    out.push_str(&rules.join(", "));
    if !ex.targets.is_empty() {
        let _ = write!(out, " for {}", targets_text(&ex.targets));
    }
    if let Some(w) = &ex.when {
        let _ = write!(out, " when {}", expr_text(w));
    }
}

fn tag_text(tag: &str) -> String {
    if !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.:/+-".contains(c)) {
        tag.to_owned()
    } else {
        quote(tag)
    }
}

/// A string literal with the escapes the parser knows.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn targets_text(targets: &[Target]) -> String {
    targets.iter().map(target_text).collect::<Vec<_>>().join(", ")
}

/// A target as written: `headers["user-agent", !"x"]`.
pub fn target_text(t: &Target) -> String {
    let mut out = t.collection.name().to_owned();
    if !t.selectors.is_empty() {
        out.push('[');
        for (n, s) in t.selectors.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            if s.negated {
                out.push('!');
            }
            match &s.key {
                KeyPattern::Exact(k) => out.push_str(&quote(k)),
                KeyPattern::Regex(r) => {
                    let _ = write!(out, "`{r}`");
                }
            }
        }
        out.push(']');
    }
    out
}

fn string_list(list: &[Spanned<String>]) -> String {
    let items: Vec<String> = list.iter().map(|s| quote(&s.value)).collect();
    format!("[{}]", items.join(", "))
}

/// An operator in its keyword form (`equals "x"`, `== 5`).
pub fn operator_text(op: &Operator) -> String {
    match op {
        Operator::Regex(r) => format!("regex `{}`", r.value),
        Operator::Phrases(PhraseSource::List(list)) => format!("phrases {}", string_list(list)),
        Operator::Phrases(PhraseSource::File(f)) => format!("phrases file {}", quote(&f.value)),
        Operator::Contains(s) => format!("contains {}", quote(&s.value)),
        Operator::StartsWith(s) => format!("starts_with {}", quote(&s.value)),
        Operator::EndsWith(s) => format!("ends_with {}", quote(&s.value)),
        Operator::Equals(s) => format!("equals {}", quote(&s.value)),
        Operator::In(ListLiteral::Strings(list)) => format!("in {}", string_list(list)),
        Operator::In(ListLiteral::Networks(list)) => {
            let items: Vec<String> = list.iter().map(|c| c.value.to_text()).collect();
            format!("in [{}]", items.join(", "))
        }
        Operator::Compare(op, n) => format!("{} {}", op.symbol(), n.value),
        Operator::Length(op, n) => format!("length {} {}", op.symbol(), n.value),
        Operator::DetectSqli => "detect_sqli".to_owned(),
        Operator::DetectXss => "detect_xss".to_owned(),
        Operator::InvalidUtf8 => "invalid_utf8".to_owned(),
        Operator::InvalidUrlEncoding => "invalid_url_encoding".to_owned(),
        Operator::ByteRange(ranges) => {
            let items: Vec<String> = ranges
                .iter()
                .map(|r| {
                    let (lo, hi) = r.value;
                    if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }
                })
                .collect();
            format!("byte_range {}", items.join(", "))
        }
    }
}

/// An expression with the fewest parentheses that keep its shape.
pub fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Or(parts) => parts
            .iter()
            .map(|p| if matches!(p, Expr::Or(_)) { format!("({})", expr_text(p)) } else { expr_text(p) })
            .collect::<Vec<_>>()
            .join(" or "),
        Expr::And(parts) => parts
            .iter()
            .map(|p| if matches!(p, Expr::Or(_) | Expr::And(_)) { format!("({})", expr_text(p)) } else { expr_text(p) })
            .collect::<Vec<_>>()
            .join(" and "),
        Expr::Not(inner) => match **inner {
            Expr::Or(_) | Expr::And(_) => format!("not ({})", expr_text(inner)),
            _ => format!("not {}", expr_text(inner)),
        },
        Expr::Flag(f) => f.value.name().to_owned(),
        Expr::Cond(c) => {
            let subject = match &c.subject {
                Subject::Values(t) => target_text(t),
                Subject::Count(t) => format!("count({})", target_text(t)),
            };
            let op = match (&c.op, c.negated) {
                (Operator::Equals(s), false) => format!("== {}", quote(&s.value)),
                (Operator::Equals(s), true) => format!("!= {}", quote(&s.value)),
                (op, true) => format!("not {}", operator_text(op)),
                (op, false) => operator_text(op),
            };
            format!("{subject} {op}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::{SourceFile, parse_with_comments};

    #[test]
    fn keeps_comments_in_place() {
        let text = "# header\n\n# about rule 1\nrule 1 \"m\" { # head\n  # before match\n  match contains \"x\" # why\n  inspect args\n  severity critical\n  # at end\n}\nexclude rule 1 # trailing\n# the end\n";
        let src = SourceFile::new("t", text);
        let (file, comments, errors) = parse_with_comments(&src);
        assert!(errors.is_empty(), "{errors:?}");
        let out = format_file_with_comments(&file, &comments, &src);
        assert_eq!(
            out,
            "# header\n# about rule 1\nrule 1 \"m\" { # head\n    severity  critical\n    inspect   args\n    # before match\n    match     contains \"x\" # why\n    # at end\n}\n\nexclude rule 1 # trailing\n\n# the end\n"
        );
        let (again, _, errors) = parse_with_comments(&SourceFile::new("t", out.as_str()));
        assert!(errors.is_empty());
        assert_eq!(again, file);
    }
}
