//! The audit event: one JSON line per request, for logs.
//!
//! ```json
//! {"time":"2026-11-27T21:30:00.123Z","request_id":"9f2c41d07a3be815","client":"203.0.113.7",
//!  "method":"GET","uri":"/item?id=1%27%20or%201%3D1--","protocol":"HTTP/1.1","host":"shop.example",
//!  "action":"block","status":403,"would_block":true,"score":5,"phase":"request_headers",
//!  "mode":"block","limit":null,"body_error":null,
//!  "matches":[{"id":942100,"message":"SQL injection","severity":"critical","tags":["attack-sqli"],
//!              "field":"args[\"id\"]","offset":2,"snippet":"' or 1=1--","phase":"request_headers"}]}
//! ```
//!
//! Byte strings from the request are written as JSON strings with invalid
//! UTF-8 and control bytes escaped as `\xNN` text, so a line is always valid JSON.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::Match;
use crate::request::{Source, Transaction};

/// Bytes shown as text: valid UTF-8 as is, other bytes as `\xNN`.
struct Lossy<'a>(&'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() && c != '\t' {
                    write!(f, "\\x{:02x}", c as u32)?;
                } else {
                    fmt::Write::write_char(f, c)?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// RFC 3339 UTC time with milliseconds.
struct Time(SystemTime);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs() as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            d.subsec_millis()
        )
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Serialize)]
struct MatchEvent<'a> {
    id: u32,
    message: &'a str,
    severity: Option<&'static str>,
    tags: Tags<'a>,
    field: &'a str,
    offset: u32,
    snippet: Lossy<'a>,
    phase: &'static str,
}

struct Tags<'a>(Match<'a>);

impl Serialize for Tags<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for t in self.0.tags() {
            seq.serialize_element(t)?;
        }
        seq.end()
    }
}

struct Matches<'a>(&'a Transaction);

impl Serialize for Matches<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for m in self.0.matches() {
            seq.serialize_element(&MatchEvent {
                id: m.id(),
                message: m.message(),
                severity: m.severity().map(|s| s.name()),
                tags: Tags(m),
                field: m.field(),
                offset: m.offset(),
                snippet: Lossy(m.snippet()),
                phase: m.phase().name(),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct BodyError {
    message: &'static str,
    offset: usize,
}

#[derive(Serialize)]
struct Event<'a> {
    time: Time,
    request_id: &'a str,
    client: Lossy<'a>,
    method: Lossy<'a>,
    uri: Lossy<'a>,
    protocol: Lossy<'a>,
    host: Lossy<'a>,
    action: &'static str,
    status: u16,
    would_block: bool,
    score: u32,
    phase: &'static str,
    mode: &'static str,
    limit: Option<&'static str>,
    body_error: Option<BodyError>,
    matches: Matches<'a>,
}

impl Transaction {
    /// Appends the audit event of this transaction to `out`: one JSON object
    /// and a newline. Writes only into `out`'s spare capacity once it has grown.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use rampart::{Phase, Ruleset, Transaction};
    /// let rs = Arc::new(Ruleset::from_rules("rule 7 \"x\" { severity critical inspect args match contains \"<script\" }").unwrap());
    /// let mut scratch = rs.create_scratch();
    /// let mut tx = Transaction::new(rs);
    /// tx.set_request("GET", "/?q=<script>", "HTTP/1.1");
    /// tx.evaluate(Phase::RequestBody, &mut scratch);
    /// let mut line = Vec::new();
    /// tx.write_audit_json(&mut line);
    /// let event: serde_json::Value = serde_json::from_slice(&line).unwrap();
    /// assert_eq!(event["action"], "block");
    /// assert_eq!(event["matches"][0]["id"], 7);
    /// assert_eq!(event["matches"][0]["field"], "args[\"q\"]");
    /// ```
    pub fn write_audit_json(&self, out: &mut Vec<u8>) {
        let req = &self.req;
        let v = self.res.verdict;
        let text = |s: Source| Lossy(req.scalar(s).unwrap_or(b""));
        let event = Event {
            time: Time(req.started.unwrap_or_else(SystemTime::now)),
            request_id: req.request_id_str(),
            client: text(Source::ClientIp),
            method: text(Source::Method),
            uri: text(Source::Uri),
            protocol: text(Source::Protocol),
            host: text(Source::Host),
            action: v.action().name(),
            status: v.status(),
            would_block: v.would_block(),
            score: v.score(),
            phase: v.phase().name(),
            mode: self.ruleset.config().get_mode().name(),
            limit: req.limit.map(|l| l.name()),
            body_error: req.body_error.map(|e| BodyError { message: e.message, offset: e.offset }),
            matches: Matches(self),
        };
        // Writing to a Vec cannot fail, and every value above serializes.
        let _ = serde_json::to_writer(&mut *out, &event);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_795_815_000_123);
        assert_eq!(Time(t).to_string(), "2026-11-27T21:30:00.123Z");
        assert_eq!(Time(UNIX_EPOCH).to_string(), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(Time(leap).to_string(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn bytes_are_escaped() {
        assert_eq!(Lossy(b"a\xffb\n").to_string(), "a\\xffb\\x0a");
    }
}
