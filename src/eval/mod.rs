//! The matcher: evaluates a [`crate::Transaction`] by phase and produces a
//! [`Verdict`].
//!
//! Per phase: every request value of that phase is run through each transform
//! pipeline its groups use (once per pipeline), each group's scanner runs once
//! over the result (see [`crate::compile`]'s planner), and hits are recorded.
//! Then rules are *decided* in rule order: exclusions, `when` conditions,
//! actions, anomaly score. Working memory lives in a per-thread [`Scratch`];
//! a transaction holds only its request and results. Nothing is allocated once
//! buffers have grown to the largest request seen.
#![forbid(unsafe_code)]

mod audit;
mod clean_cache;
mod cond;
pub(crate) mod exec;
pub(crate) mod op;
pub(crate) mod quick;
mod results;
mod scratch;
pub(crate) mod sec;

pub(crate) use exec::run_pipeline as exec_pipeline;

pub(crate) use results::Results;
pub use results::{Match, Stats};
pub use scratch::Scratch;

/// A point in the request's life at which it can be evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Request line and headers are known; the body is not. Rules that need
    /// nothing else are decided here, so a host can block before reading a body.
    RequestHeaders = 0,
    /// The body (or as much of it as the limits keep) is known too. Call it
    /// even for requests without a body: rules about arguments and flags are
    /// decided here.
    RequestBody = 1,
}

impl Phase {
    /// `request_headers` or `request_body`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::RequestHeaders => "request_headers",
            Phase::RequestBody => "request_body",
        }
    }
}

/// What the host should do with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Let it through: nothing matched, or an `allow` rule did.
    Allow,
    /// Refuse it with [`Verdict::status`].
    Block,
    /// Let it through but log it: rules matched below the threshold, or the
    /// engine is in detect mode.
    Log,
}

impl Action {
    /// `allow`, `block` or `log`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Block => "block",
            Action::Log => "log",
        }
    }
}

/// The outcome of evaluating a transaction so far. Scores accumulate across
/// phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub(crate) action: Action,
    pub(crate) status: u16,
    pub(crate) score: u32,
    pub(crate) would_block: bool,
    pub(crate) matches: u32,
    pub(crate) phase: Phase,
}

impl Default for Verdict {
    fn default() -> Verdict {
        Verdict {
            action: Action::Allow,
            status: 0,
            score: 0,
            would_block: false,
            matches: 0,
            phase: Phase::RequestHeaders,
        }
    }
}

impl Verdict {
    /// What to do.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The HTTP status to answer with when blocking (403 unless a rule or the
    /// config says otherwise). In detect mode, the status block mode would
    /// have used. 0 when [`Verdict::would_block`] is false.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The anomaly score: the sum of the scores of the rules that matched.
    pub fn score(&self) -> u32 {
        self.score
    }

    /// True when block mode would block: the action in block mode; in detect
    /// mode, what would have happened.
    pub fn would_block(&self) -> bool {
        self.would_block
    }

    /// True when the action is [`Action::Block`].
    pub fn is_blocked(&self) -> bool {
        self.action == Action::Block
    }

    /// How many rules matched.
    pub fn match_count(&self) -> u32 {
        self.matches
    }

    /// The last phase evaluated.
    pub fn phase(&self) -> Phase {
        self.phase
    }
}
