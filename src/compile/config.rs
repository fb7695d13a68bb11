//! Engine configuration: mode, paranoia, threshold, limits, rule includes.
//!
//! A [`Config`] is a set of optional settings. Configs layer: the built-in
//! defaults, then `rampart.toml`, then what a host sets in code
//! ([`Config::overwrite`]); each value set in a later layer wins. The TOML form:
//!
//! ```toml
//! [engine]
//! mode = "block"            # block | detect | off
//! paranoia = 1              # 1-4: rules above it are not compiled
//! anomaly_threshold = 5     # block when the anomaly score reaches this
//! block_status = 403        # status for anomaly and `deny` blocks without one
//! value_cache_bytes = 1048576 # per thread: values whose scan found nothing; 0 = off
//!
//! [rules]
//! include = ["core/*.rules"]  # relative to this file; `*` and `?` match within a name
//! # SecLang (ModSecurity) files, e.g. the OWASP Core Rule Set; `.data` files
//! # are found relative to each `.conf` (see docs/seclang.md)
//! seclang = ["crs/crs-setup.conf", "crs/rules/*.conf"]
//!
//! [limits]
//! max_body_bytes = 1048576
//! max_args = 10000
//! max_headers = 128
//! max_header_bytes = 65536    # all header names and values together
//! max_uri_bytes = 8192
//! max_json_depth = 64
//! max_multipart_parts = 256
//! on_limit = "reject"         # reject | inspect
//! limit_status = 413
//! ```
//!
//! Unknown keys and out-of-range values are errors with `file:line:column`.

use std::path::Path;

use serde::Deserialize;

use crate::dsl::{ErrorKind, RuleError, SourceFile, Span};

/// What the engine does with a request whose verdict is to block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Block it: the verdict's action is [`crate::Action::Block`].
    Block,
    /// Only log it: the verdict's action is [`crate::Action::Log`], and
    /// [`crate::Verdict::would_block`] says what block mode would have done.
    Detect,
    /// Do not inspect at all: every verdict allows.
    Off,
}

impl Mode {
    /// Parses `block`, `detect` or `off`.
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "block" => Some(Mode::Block),
            "detect" => Some(Mode::Detect),
            "off" => Some(Mode::Off),
            _ => None,
        }
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Block => "block",
            Mode::Detect => "detect",
            Mode::Off => "off",
        }
    }
}

/// What happens when a request goes over a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitAction {
    /// Block the request with the limit status (413 by default).
    Reject,
    /// Inspect what fits within the limits and set the `limit_exceeded` flag,
    /// which rules can test.
    Inspect,
}

/// Engine settings; see the [module documentation](self) for the TOML form.
/// Every setting is optional so that configs layer; the `get_` accessors give
/// the effective value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    mode: Option<Mode>,
    paranoia: Option<u8>,
    anomaly_threshold: Option<u32>,
    block_status: Option<u16>,
    value_cache_bytes: Option<usize>,
    max_body_bytes: Option<usize>,
    max_args: Option<usize>,
    max_headers: Option<usize>,
    max_header_bytes: Option<usize>,
    max_uri_bytes: Option<usize>,
    max_json_depth: Option<usize>,
    max_multipart_parts: Option<usize>,
    on_limit: Option<LimitAction>,
    limit_status: Option<u16>,
    includes: Vec<String>,
    seclang: Vec<String>,
}

macro_rules! setting {
    ($(#[$doc:meta])* $field:ident, $getter:ident, $ty:ty, $default:expr) => {
        $(#[$doc])*
        pub fn $field(self, value: $ty) -> Config {
            Config { $field: Some(value), ..self }
        }

        #[doc = concat!("The effective `", stringify!($field), "`: the value set, or the default.")]
        pub fn $getter(&self) -> $ty {
            self.$field.unwrap_or($default)
        }
    };
}

impl Config {
    /// A config with nothing set: every value is its default.
    pub fn new() -> Config {
        Config::default()
    }

    setting!(
        /// Block, detect only, or off. Default: block.
        mode, get_mode, Mode, Mode::Block
    );
    setting!(
        /// Paranoia level 1-4; rules with a higher level are not compiled. Default: 1.
        paranoia, get_paranoia, u8, 1
    );
    setting!(
        /// The anomaly score at which a request is blocked. Default: 5 (one critical rule).
        anomaly_threshold, get_anomaly_threshold, u32, 5
    );
    setting!(
        /// HTTP status of blocks by anomaly score and of `deny` without a status. Default: 403.
        block_status, get_block_status, u16, 403
    );
    setting!(
        /// Bytes per thread (per [`crate::Scratch`]) remembering request values
        /// whose scan found nothing, so that repeated header values and
        /// arguments are not scanned again; 0 (or below 4 KiB) turns it off.
        /// Memory is fixed (the ring, and 16 bytes per 32 of it for the slots); entries are compared byte for byte. Default: 1 MiB.
        value_cache_bytes, get_value_cache_bytes, usize, 1 << 20
    );
    setting!(
        /// Most body bytes kept and inspected. Default: 1 MiB.
        max_body_bytes, get_max_body_bytes, usize, 1 << 20
    );
    setting!(
        /// Most arguments (query, form, JSON values, multipart fields). Default: 10,000 (JSON APIs send arrays of thousands of values; the body limit bounds memory).
        max_args, get_max_args, usize, 10_000
    );
    setting!(
        /// Most request headers. Default: 128.
        max_headers, get_max_headers, usize, 128
    );
    setting!(
        /// Most bytes of header names and values together. Default: 64 KiB.
        max_header_bytes, get_max_header_bytes, usize, 64 << 10
    );
    setting!(
        /// Most bytes of the request target. Default: 8 KiB.
        max_uri_bytes, get_max_uri_bytes, usize, 8 << 10
    );
    setting!(
        /// Deepest JSON nesting followed. Default: 64.
        max_json_depth, get_max_json_depth, usize, 64
    );
    setting!(
        /// Most multipart parts read. Default: 256.
        max_multipart_parts, get_max_multipart_parts, usize, 256
    );
    setting!(
        /// What happens over a limit. Default: reject.
        on_limit, get_on_limit, LimitAction, LimitAction::Reject
    );
    setting!(
        /// HTTP status when a request is rejected for a limit. Default: 413.
        limit_status, get_limit_status, u16, 413
    );

    /// Rule file patterns, relative to the config file's folder.
    pub fn includes(&self) -> &[String] {
        &self.includes
    }

    /// Adds a rule file pattern.
    pub fn include(mut self, pattern: impl Into<String>) -> Config {
        self.includes.push(pattern.into());
        self
    }

    /// SecLang file patterns (ModSecurity rule files such as the OWASP Core
    /// Rule Set), relative to the config file's folder.
    pub fn seclang_includes(&self) -> &[String] {
        &self.seclang
    }

    /// Adds a SecLang file pattern (`crs/rules/*.conf`).
    pub fn seclang(mut self, pattern: impl Into<String>) -> Config {
        self.seclang.push(pattern.into());
        self
    }

    /// The paranoia level, when a layer set it.
    pub(crate) fn paranoia_set(&self) -> Option<u8> {
        self.paranoia
    }

    /// The anomaly threshold, when a layer set it.
    pub(crate) fn anomaly_threshold_set(&self) -> Option<u32> {
        self.anomaly_threshold
    }

    /// The mode, when a layer set it.
    pub(crate) fn mode_set(&self) -> Option<Mode> {
        self.mode
    }

    /// Layers `other` over `self`: each value set in `other` wins; includes add up.
    pub fn overwrite(self, other: Config) -> Config {
        let mut includes = self.includes;
        includes.extend(other.includes);
        let mut seclang = self.seclang;
        seclang.extend(other.seclang);
        Config {
            mode: other.mode.or(self.mode),
            paranoia: other.paranoia.or(self.paranoia),
            anomaly_threshold: other.anomaly_threshold.or(self.anomaly_threshold),
            block_status: other.block_status.or(self.block_status),
            value_cache_bytes: other.value_cache_bytes.or(self.value_cache_bytes),
            max_body_bytes: other.max_body_bytes.or(self.max_body_bytes),
            max_args: other.max_args.or(self.max_args),
            max_headers: other.max_headers.or(self.max_headers),
            max_header_bytes: other.max_header_bytes.or(self.max_header_bytes),
            max_uri_bytes: other.max_uri_bytes.or(self.max_uri_bytes),
            max_json_depth: other.max_json_depth.or(self.max_json_depth),
            max_multipart_parts: other.max_multipart_parts.or(self.max_multipart_parts),
            on_limit: other.on_limit.or(self.on_limit),
            limit_status: other.limit_status.or(self.limit_status),
            includes,
            seclang,
        }
    }

    /// Parses a TOML config. `name` is used in error messages. Include
    /// patterns are returned as written, with their spans, for the loader.
    pub(crate) fn from_toml(source: &SourceFile) -> Result<(Config, Vec<(String, Span)>), RuleError> {
        Config::from_toml_with_seclang(source).map(|(c, includes, _)| (c, includes))
    }

    /// [`Config::from_toml`], also returning the SecLang patterns with their spans.
    #[allow(clippy::type_complexity)]
    pub(crate) fn from_toml_with_seclang(
        source: &SourceFile,
    ) -> Result<(Config, Vec<(String, Span)>, Vec<(String, Span)>), RuleError> {
        let file: ConfigFile = toml::from_str(source.text()).map_err(|e| {
            let span = e.span().map_or(Span::default(), |r| Span::new(r.start, r.end));
            RuleError::new(ErrorKind::Config, source, span, e.message().trim_end_matches('.').to_owned())
        })?;
        let bad = |span: std::ops::Range<usize>, msg: &str| {
            RuleError::new(ErrorKind::Config, source, Span::new(span.start, span.end), msg.to_owned())
        };
        let mut config = Config::new();
        if let Some(engine) = file.engine {
            if let Some(mode) = engine.mode {
                config.mode = Some(
                    Mode::from_name(mode.get_ref())
                        .ok_or_else(|| bad(mode.span(), "mode must be \"block\", \"detect\" or \"off\""))?,
                );
            }
            if let Some(p) = engine.paranoia {
                if !(1..=4).contains(p.get_ref()) {
                    return Err(bad(p.span(), "paranoia must be 1, 2, 3 or 4"));
                }
                config.paranoia = Some(*p.get_ref());
            }
            if let Some(t) = engine.anomaly_threshold {
                if *t.get_ref() == 0 {
                    return Err(bad(t.span(), "anomaly_threshold must be at least 1"));
                }
                config.anomaly_threshold = Some(*t.get_ref());
            }
            if let Some(s) = engine.block_status {
                config.block_status = Some(check_status(&s).map_err(|m| bad(s.span(), m))?);
            }
            if let Some(b) = engine.value_cache_bytes {
                if *b.get_ref() > MAX_VALUE_CACHE_BYTES {
                    return Err(bad(b.span(), "value_cache_bytes must be at most 268435456 (256 MiB)"));
                }
                config.value_cache_bytes = Some(b.into_inner());
            }
        }
        let mut includes = Vec::new();
        let mut seclang = Vec::new();
        if let Some(rules) = file.rules {
            for inc in rules.include {
                includes.push((inc.get_ref().clone(), Span::new(inc.span().start, inc.span().end)));
                config.includes.push(inc.into_inner());
            }
            for inc in rules.seclang {
                seclang.push((inc.get_ref().clone(), Span::new(inc.span().start, inc.span().end)));
                config.seclang.push(inc.into_inner());
            }
        }
        if let Some(l) = file.limits {
            let positive = |v: Option<toml::Spanned<usize>>| -> Result<Option<usize>, RuleError> {
                match v {
                    Some(v) if *v.get_ref() == 0 => Err(bad(v.span(), "limits must be at least 1")),
                    Some(v) => Ok(Some(v.into_inner())),
                    None => Ok(None),
                }
            };
            config.max_body_bytes = positive(l.max_body_bytes)?;
            config.max_args = positive(l.max_args)?;
            config.max_headers = positive(l.max_headers)?;
            config.max_header_bytes = positive(l.max_header_bytes)?;
            config.max_uri_bytes = positive(l.max_uri_bytes)?;
            config.max_json_depth = positive(l.max_json_depth)?;
            config.max_multipart_parts = positive(l.max_multipart_parts)?;
            if let Some(a) = l.on_limit {
                config.on_limit = Some(match a.get_ref().as_str() {
                    "reject" => LimitAction::Reject,
                    "inspect" => LimitAction::Inspect,
                    _ => return Err(bad(a.span(), "on_limit must be \"reject\" or \"inspect\"")),
                });
            }
            if let Some(s) = l.limit_status {
                config.limit_status = Some(check_status(&s).map_err(|m| bad(s.span(), m))?);
            }
        }
        Ok((config, includes, seclang))
    }

    /// Reads and parses a TOML config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, RuleError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RuleError::whole_file(ErrorKind::Io, &name, format!("cannot read config: {e}")))?;
        Config::from_toml(&SourceFile::new(name, text)).map(|(c, _)| c)
    }
}

/// Largest `value_cache_bytes`: the cache is per thread.
const MAX_VALUE_CACHE_BYTES: usize = 256 << 20;

fn check_status(s: &toml::Spanned<u16>) -> Result<u16, &'static str> {
    if (100..=599).contains(s.get_ref()) { Ok(*s.get_ref()) } else { Err("HTTP status must be 100 to 599") }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    engine: Option<EngineSection>,
    rules: Option<RulesSection>,
    limits: Option<LimitsSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineSection {
    mode: Option<toml::Spanned<String>>,
    paranoia: Option<toml::Spanned<u8>>,
    anomaly_threshold: Option<toml::Spanned<u32>>,
    block_status: Option<toml::Spanned<u16>>,
    value_cache_bytes: Option<toml::Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSection {
    #[serde(default)]
    include: Vec<toml::Spanned<String>>,
    #[serde(default)]
    seclang: Vec<toml::Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_body_bytes: Option<toml::Spanned<usize>>,
    max_args: Option<toml::Spanned<usize>>,
    max_headers: Option<toml::Spanned<usize>>,
    max_header_bytes: Option<toml::Spanned<usize>>,
    max_uri_bytes: Option<toml::Spanned<usize>>,
    max_json_depth: Option<toml::Spanned<usize>>,
    max_multipart_parts: Option<toml::Spanned<usize>>,
    on_limit: Option<toml::Spanned<String>>,
    limit_status: Option<toml::Spanned<u16>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::from_toml(&SourceFile::new("rampart.toml", text)).map(|(c, _)| c).map_err(|e| e.short())
    }

    #[test]
    fn reads_every_section() {
        let c = parse(
            "[engine]\nmode = \"detect\"\nparanoia = 2\nanomaly_threshold = 7\n[rules]\ninclude = [\"core/*.rules\"]\n[limits]\nmax_args = 10\non_limit = \"inspect\"\n",
        )
        .unwrap();
        assert_eq!(c.get_mode(), Mode::Detect);
        assert_eq!(c.get_paranoia(), 2);
        assert_eq!(c.get_anomaly_threshold(), 7);
        assert_eq!(c.get_max_args(), 10);
        assert_eq!(c.get_on_limit(), LimitAction::Inspect);
        assert_eq!(c.get_max_body_bytes(), 1 << 20, "unset values keep their default");
        assert_eq!(c.includes(), ["core/*.rules"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_point_at_their_place() {
        assert_eq!(
            parse("[engine]\nmode = \"block\"\nparanoya = 2\n").unwrap_err(),
            "rampart.toml:3:1: error: unknown field `paranoya`, expected one of `mode`, `paranoia`, `anomaly_threshold`, `block_status`, `value_cache_bytes`"
        );
        assert_eq!(
            parse("[engine]\nparanoia = 9\n").unwrap_err(),
            "rampart.toml:2:12: error: paranoia must be 1, 2, 3 or 4"
        );
        assert_eq!(
            parse("[engine]\nmode = \"loud\"\n").unwrap_err(),
            "rampart.toml:2:8: error: mode must be \"block\", \"detect\" or \"off\""
        );
    }

    #[test]
    fn layers_overwrite_field_by_field() {
        let base = Config::new().paranoia(2).mode(Mode::Detect);
        let top = Config::new().paranoia(3);
        let c = base.overwrite(top);
        assert_eq!(c.get_paranoia(), 3);
        assert_eq!(c.get_mode(), Mode::Detect);
    }
}
