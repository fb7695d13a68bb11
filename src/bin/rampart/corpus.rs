//! The request corpus format (JSON lines), as in ../shared/corpus/README.md.
#![forbid(unsafe_code)]

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::Value;

/// One labelled request.
#[derive(Debug, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_uri")]
    pub uri: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    headers: Value,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_b64: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub expect_rules: Vec<u32>,
    #[serde(default)]
    pub no_expect_rules: Vec<u32>,
    #[serde(skip)]
    pub header_list: Vec<(String, String)>,
    #[serde(skip)]
    pub body_bytes: Vec<u8>,
}

fn default_method() -> String {
    "GET".to_owned()
}

fn default_uri() -> String {
    "/".to_owned()
}

impl Record {
    /// The protocol token: `HTTP/1.1` when missing, as the corpus says.
    pub fn protocol(&self) -> &str {
        self.version.as_deref().unwrap_or("HTTP/1.1")
    }

    pub fn is_attack(&self) -> bool {
        self.label.as_deref() == Some("attack")
    }

    pub fn is_benign(&self) -> bool {
        self.label.as_deref() == Some("benign")
    }

    pub fn class(&self) -> &str {
        self.class.as_deref().unwrap_or("other")
    }

    fn finish(mut self) -> Result<Record> {
        self.header_list = match std::mem::take(&mut self.headers) {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .into_iter()
                .map(|pair| match pair {
                    Value::Array(p) if p.len() == 2 => Ok((as_text(&p[0]), as_text(&p[1]))),
                    other => anyhow::bail!("a header must be [name, value], found {other}"),
                })
                .collect::<Result<_>>()?,
            Value::Object(map) => map.into_iter().map(|(k, v)| (k, as_text(&v))).collect(),
            other => anyhow::bail!("headers must be a list of pairs or an object, found {other}"),
        };
        self.body_bytes = match (&self.body_b64, &self.body) {
            (Some(b64), _) => {
                let mut out = Vec::new();
                if !rampart::base64_decode_strict(b64.as_bytes(), &mut out) {
                    anyhow::bail!("body_b64 is not valid base64");
                }
                out
            }
            (None, Some(text)) => text.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        };
        let chunked = self
            .header_list
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
        if chunked && let Some(body) = dechunk(&self.body_bytes) {
            self.body_bytes = body;
        }
        Ok(self)
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Decodes a well-formed chunked body, as a proxy does before the WAF sees it;
/// None if it is not well-formed (then the body is inspected as sent).
pub fn dechunk(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if rest.len() < size + 2 || &rest[size..size + 2] != b"\r\n" {
            return None;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Reads a corpus file. Bad lines are reported on stderr and skipped.
pub fn read(path: &str) -> Result<Vec<Record>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read corpus {path}"))?;
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line).map_err(anyhow::Error::from).and_then(Record::finish) {
            Ok(r) => records.push(r),
            Err(e) => eprintln!("{path}:{}: skipped: {e}", n + 1),
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks_well_formed_bodies_only() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").as_deref(), Some(&b"abcde"[..]));
        assert_eq!(dechunk(b"5\r\nabc\r\n0\r\n\r\n"), None);
    }
}
