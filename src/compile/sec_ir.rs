//! The IR extension for SecLang: what the rampart language does not need but
//! a ModSecurity rule set does (ordered evaluation per phase, TX variables and
//! `setvar`, macros, chains, `skipAfter`, `ctl`, captures, matched variables).
//!
//! A SecLang rule is a [`SecRule`]: one or more chained [`Link`]s, each with
//! its own targets, transforms and operator. Every SecLang rule also has a
//! [`super::ir::RuleIr`] (id, message, tags for reports); when the first link
//! can be *prefiltered* (a static operator over request values), that IR rule
//! carries a [`super::ir::Scan`] the planner merges into the shared automaton
//! passes. See [`crate::eval`]'s `sec` module for how the two meet at run time.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::config::Mode;
use super::ir::{OpId, PipelineId, RegexId, RuleIdx};
use crate::dsl::ast::{Cidr, CmpOp};
use crate::request::Source;
use crate::transform::Transform;

/// A compiled SecLang rule set.
#[derive(Debug, Default)]
pub(crate) struct SecProgram {
    pub(crate) rules: Vec<SecRule>,
    /// Per request phase (SecLang phases 1 and 2), the rules to walk, in
    /// order. Statically unreachable rules are left out.
    pub(crate) phases: [Vec<u32>; 2],
    /// TX variable names known at compile time (lowercase): slot `i` of the
    /// per-transaction TX store.
    pub(crate) tx_names: Vec<Box<[u8]>>,
    /// Slot of each name. Looked up per request for names made at run time
    /// (`setvar:tx.header_name_920450_%{tx.0}`); the table is fixed when
    /// the rules compile, so a fast hash without per-process keys is safe
    /// (requests choose keys to look up, not what the table holds).
    pub(crate) tx_index: HashMap<Box<[u8]>, u32, BuildHasherDefault<Fnv1a>>,
    /// `SecRuleEngine`, when a file sets it.
    pub(crate) engine: Option<Mode>,
    /// `SecRequestBodyAccess Off` turns body inspection off.
    pub(crate) body_access: bool,
    /// The TX slot reported as the verdict's score (CRS v4:
    /// `blocking_inbound_anomaly_score`, CRS v3: `anomaly_score`).
    pub(crate) score_slot: Option<u32>,
    /// Tag names used by `ctl:ruleRemoveByTag` / `ruleRemoveTargetByTag`, by index.
    pub(crate) ctl_tags: Vec<Arc<str>>,
    /// Per rule, the indices into `ctl_tags` of the tags it carries.
    pub(crate) rule_ctl_tags: Vec<Vec<u16>>,
    /// What the files use that rampart does not support (fully).
    pub(crate) warnings: Vec<crate::Warning>,
    /// Counts for `rampart check --seclang`.
    pub(crate) stats: SecStats,
}

/// Counts describing a compiled SecLang rule set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecStats {
    /// Directives read.
    pub directives: usize,
    /// `SecRule` and `SecAction` rules read (a chain counts once).
    pub rules: usize,
    /// Rules removed by `SecRuleRemoveById` / `ByTag` / `ByMsg`.
    pub removed: usize,
    /// Rules of phases 3-5 (response and logging), which are not evaluated.
    pub response_rules: usize,
    /// Request-phase rules that can never run with this configuration (the
    /// `skipAfter` of a paranoia-level check always jumps over them).
    pub unreachable: usize,
    /// Request-phase rules evaluated.
    pub active: usize,
    /// Active rules whose first link runs inside the shared automaton passes.
    pub prefiltered: usize,
}

/// How a rule ends when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disruptive {
    Pass,
    /// Deny (or drop) with this status.
    Deny(u16),
    /// Stop inspecting the request and let it through.
    Allow,
    /// Stop evaluating this phase's remaining rules.
    AllowPhase,
}

/// One SecLang rule (a chain counts as one).
#[derive(Debug)]
pub(crate) struct SecRule {
    pub(crate) id: u32,
    /// The IR rule that reports this rule (and prefilters its first link).
    pub(crate) ir: RuleIdx,
    /// Further IR rules that prefilter the first link (multiMatch: one per
    /// pipeline prefix).
    pub(crate) extra_prefilters: Vec<RuleIdx>,
    /// The first link is prefiltered: the rule cannot match unless the IR
    /// rule (or an extra prefilter) has a hit, or a residual target matches.
    pub(crate) prefiltered: bool,
    /// The first link has targets the prefilter does not cover (evaluated
    /// directly even without a prefilter hit).
    pub(crate) residual: bool,
    pub(crate) links: Vec<Link>,
    pub(crate) disruptive: Disruptive,
    /// Logged when it matches (`log`, or the phase's default).
    pub(crate) log: bool,
    /// Where the walk continues after a match (`skipAfter`, `skip`): a
    /// position in the phase's list.
    pub(crate) skip_to: Option<u32>,
    /// 0 (emergency) to 7 (debug), for `%{rule.severity}`.
    pub(crate) severity: Option<u8>,
    pub(crate) tags: Vec<Arc<str>>,
}

/// One link of a chain: targets, transforms, operator, per-match actions.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) targets: Vec<Target>,
    /// Values removed from the targets (`!ARGS:foo`, `SecRuleUpdateTargetById`).
    pub(crate) exclusions: Vec<Exclusion>,
    pub(crate) transforms: Vec<SecTransform>,
    /// The pipeline id when every transform is a rampart [`Transform`].
    pub(crate) pipeline: Option<PipelineId>,
    pub(crate) op: SecOp,
    pub(crate) negated: bool,
    pub(crate) capture: bool,
    pub(crate) multi_match: bool,
    /// Run on every matching value, even if a later link fails.
    pub(crate) setvars: Vec<SetVar>,
    /// Run once the whole chain matched (innermost link first).
    pub(crate) ctls: Vec<Ctl>,
}

/// A transformation: rampart's, or one only SecLang has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecTransform {
    Std(Transform),
    Sha1,
    Md5,
}

/// A variable a rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::enum_variant_names)] // `MatchedVar` is SecLang's name
pub(crate) enum Var {
    // Collections (keyed).
    Args,
    ArgsNames,
    ArgsGet,
    ArgsGetNames,
    ArgsPost,
    ArgsPostNames,
    Headers,
    HeadersNames,
    Cookies,
    CookiesNames,
    Files,
    FilesNames,
    MultipartPartHeaders,
    Tx,
    MatchedVars,
    MatchedVarsNames,
    Xml,
    // Scalars.
    RequestLine,
    RequestMethod,
    RequestProtocol,
    RequestUri,
    RequestUriRaw,
    RequestFilename,
    RequestBasename,
    QueryString,
    RequestBody,
    RequestBodyLength,
    ReqbodyProcessor,
    ReqbodyError,
    ReqbodyErrorMsg,
    MatchedVar,
    MatchedVarName,
    RemoteAddr,
    RemotePort,
    ServerName,
    UniqueId,
    ArgsCombinedSize,
    FilesCombinedSize,
    FullRequestLength,
    MultipartStrictError,
    MultipartUnmatchedBoundary,
    InboundDataError,
    UrlencodedError,
    AuthType,
    Duration,
    /// A variable rampart does not provide (response data, GEO, ...): no values.
    Unsupported,
}

impl Var {
    /// The SecLang name (`ARGS`, `REQUEST_HEADERS`), as in `MATCHED_VAR_NAME`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Var::Args => "ARGS",
            Var::ArgsNames => "ARGS_NAMES",
            Var::ArgsGet => "ARGS_GET",
            Var::ArgsGetNames => "ARGS_GET_NAMES",
            Var::ArgsPost => "ARGS_POST",
            Var::ArgsPostNames => "ARGS_POST_NAMES",
            Var::Headers => "REQUEST_HEADERS",
            Var::HeadersNames => "REQUEST_HEADERS_NAMES",
            Var::Cookies => "REQUEST_COOKIES",
            Var::CookiesNames => "REQUEST_COOKIES_NAMES",
            Var::Files => "FILES",
            Var::FilesNames => "FILES_NAMES",
            Var::MultipartPartHeaders => "MULTIPART_PART_HEADERS",
            Var::Tx => "TX",
            Var::MatchedVars => "MATCHED_VARS",
            Var::MatchedVarsNames => "MATCHED_VARS_NAMES",
            Var::Xml => "XML",
            Var::RequestLine => "REQUEST_LINE",
            Var::RequestMethod => "REQUEST_METHOD",
            Var::RequestProtocol => "REQUEST_PROTOCOL",
            Var::RequestUri => "REQUEST_URI",
            Var::RequestUriRaw => "REQUEST_URI_RAW",
            Var::RequestFilename => "REQUEST_FILENAME",
            Var::RequestBasename => "REQUEST_BASENAME",
            Var::QueryString => "QUERY_STRING",
            Var::RequestBody => "REQUEST_BODY",
            Var::RequestBodyLength => "REQUEST_BODY_LENGTH",
            Var::ReqbodyProcessor => "REQBODY_PROCESSOR",
            Var::ReqbodyError => "REQBODY_ERROR",
            Var::ReqbodyErrorMsg => "REQBODY_ERROR_MSG",
            Var::MatchedVar => "MATCHED_VAR",
            Var::MatchedVarName => "MATCHED_VAR_NAME",
            Var::RemoteAddr => "REMOTE_ADDR",
            Var::RemotePort => "REMOTE_PORT",
            Var::ServerName => "SERVER_NAME",
            Var::UniqueId => "UNIQUE_ID",
            Var::ArgsCombinedSize => "ARGS_COMBINED_SIZE",
            Var::FilesCombinedSize => "FILES_COMBINED_SIZE",
            Var::FullRequestLength => "FULL_REQUEST_LENGTH",
            Var::MultipartStrictError => "MULTIPART_STRICT_ERROR",
            Var::MultipartUnmatchedBoundary => "MULTIPART_UNMATCHED_BOUNDARY",
            Var::InboundDataError => "INBOUND_DATA_ERROR",
            Var::UrlencodedError => "URLENCODED_ERROR",
            Var::AuthType => "AUTH_TYPE",
            Var::Duration => "DURATION",
            Var::Unsupported => "UNSUPPORTED",
        }
    }

    /// True for keyed collections.
    pub(crate) fn is_collection(self) -> bool {
        matches!(
            self,
            Var::Args
                | Var::ArgsNames
                | Var::ArgsGet
                | Var::ArgsGetNames
                | Var::ArgsPost
                | Var::ArgsPostNames
                | Var::Headers
                | Var::HeadersNames
                | Var::Cookies
                | Var::CookiesNames
                | Var::Files
                | Var::FilesNames
                | Var::MultipartPartHeaders
                | Var::Tx
                | Var::MatchedVars
                | Var::MatchedVarsNames
                | Var::Xml
        )
    }

    /// The rampart sources holding exactly this variable's values, when they
    /// exist (the first link of a rule on these can be prefiltered).
    pub(crate) fn sources(self) -> Option<&'static [Source]> {
        use Source as S;
        Some(match self {
            Var::Args => &[S::QueryValue, S::FormValue, S::JsonValue, S::MultipartValue],
            Var::ArgsNames => &[S::QueryName, S::FormName, S::JsonName, S::MultipartName],
            Var::ArgsGet => &[S::QueryValue],
            Var::ArgsGetNames => &[S::QueryName],
            Var::ArgsPost => &[S::FormValue, S::JsonValue, S::MultipartValue],
            Var::ArgsPostNames => &[S::FormName, S::JsonName, S::MultipartName],
            Var::Headers => &[S::HeaderValue],
            Var::HeadersNames => &[S::HeaderName],
            Var::Cookies => &[S::CookieValue],
            Var::CookiesNames => &[S::CookieName],
            Var::Files => &[S::FileName],
            Var::FilesNames => &[S::FileField],
            Var::RequestLine => &[S::RequestLine],
            Var::RequestMethod => &[S::Method],
            Var::RequestProtocol => &[S::Protocol],
            Var::RequestUri => &[S::UriDecoded],
            Var::RequestUriRaw => &[S::Uri],
            Var::RequestFilename => &[S::Filename],
            Var::RequestBasename => &[S::FilenameBase],
            Var::QueryString => &[S::Query],
            Var::RequestBody => &[S::Body],
            Var::RemoteAddr => &[S::ClientIp],
            Var::Xml => &[S::XmlValue],
            _ => return None,
        })
    }
}

/// A key selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sel {
    All,
    /// Lowercase key (keys compare ASCII case-insensitively).
    Key(Box<[u8]>),
    Regex(RegexId),
}

/// One target of a link.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) var: Var,
    pub(crate) sel: Sel,
    /// `&VAR`: the number of values.
    pub(crate) count: bool,
    /// Covered by the rule's prefilter scan (first link only).
    pub(crate) prefiltered: bool,
    /// `TX:name` with a name known at compile time: its slot.
    pub(crate) tx_slot: Option<u32>,
    /// `TX:/regex/`: the compile-time slots whose names the regex matches
    /// (names made at run time are matched then).
    pub(crate) tx_regex_slots: Box<[u32]>,
}

/// Values left out of a link's targets.
#[derive(Clone, Debug)]
pub(crate) struct Exclusion {
    pub(crate) var: Var,
    pub(crate) sel: Sel,
}

/// An operator.
#[derive(Debug)]
pub(crate) enum SecOp {
    /// A static operator, evaluated like the rule language's (with
    /// `capture`, a regex's groups or the phrase found go to TX:0-9).
    Static(OpId),
    /// An operator whose argument has macros, expanded per evaluation.
    Dynamic(DynOp, Macro),
    IpMatch(Vec<Cidr>),
    Unconditional,
    /// Never matches (`@noMatch`, unsupported operators).
    Never,
}

/// Operators with a run-time argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DynOp {
    Num(CmpOp),
    Within,
    Streq,
    Contains,
    BeginsWith,
    EndsWith,
    ContainsWord,
}

/// A text with `%{...}` macros.
#[derive(Clone, Debug, Default)]
pub(crate) struct Macro {
    pub(crate) parts: Vec<MacroPart>,
}

impl Macro {
    /// The text when it has no macro.
    pub(crate) fn constant(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(b""),
            [MacroPart::Lit(l)] => Some(l),
            _ => None,
        }
    }
}

/// A piece of a macro text.
#[derive(Clone, Debug)]
#[allow(clippy::enum_variant_names)] // `MatchedVar` is SecLang's name
pub(crate) enum MacroPart {
    Lit(Box<[u8]>),
    /// `%{tx.name}` with a name known at compile time.
    Tx(u32),
    MatchedVar,
    MatchedVarName,
    RuleId,
    RuleMsg,
    RuleSeverity,
    /// `%{VAR}` or `%{COLLECTION.key}`: the first value.
    Var(Var, Sel),
}

/// A TX variable name: known at compile time, or built from macros.
#[derive(Clone, Debug)]
pub(crate) enum TxName {
    Slot(u32),
    Dynamic(Macro),
}

/// A `setvar` on TX (other collections are not kept: a warning says so).
#[derive(Clone, Debug)]
pub(crate) struct SetVar {
    pub(crate) name: TxName,
    pub(crate) op: SetOp,
}

/// What a `setvar` does.
#[derive(Clone, Debug)]
pub(crate) enum SetOp {
    Set(Macro),
    Add(Macro),
    Sub(Macro),
    Delete,
}

/// A `ctl` action.
#[derive(Clone, Debug)]
pub(crate) enum Ctl {
    /// Rules with ids in these inclusive ranges are skipped from now on.
    RemoveById(Vec<(u32, u32)>),
    /// Rules with this tag (index into [`SecProgram::ctl_tags`]) are skipped.
    RemoveByTag(u16),
    RemoveTargetById(Vec<(u32, u32)>, Exclusion),
    RemoveTargetByTag(u16, Exclusion),
    /// `ctl:ruleEngine`: None for Off.
    RuleEngine(Option<Mode>),
    RequestBodyProcessor(BodyProcessor),
    /// `ctl:forceRequestBodyVariable=On`: `REQUEST_BODY` holds the body
    /// whatever the body processor.
    ForceBodyVariable,
    /// Ignored (`auditEngine`, `forceRequestBodyVariable`, ...).
    Ignored,
}

/// Request body processors `ctl:requestBodyProcessor` can select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyProcessor {
    UrlEncoded,
    Json,
    Xml,
    Multipart,
}

/// 64-bit FNV-1a, for [`SecProgram::tx_index`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use super::*;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        let hash = |b: &[u8]| {
            let mut h = Fnv1a::default();
            h.write(b);
            h.finish()
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
