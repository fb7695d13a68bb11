"""rampart: an embedded web application firewall engine (ctypes bindings).

Compile a :class:`Ruleset` once and share it between threads; give each
request its own :class:`Transaction` (reuse it with :meth:`Transaction.reset`)::

    import rampart

    rules = rampart.Ruleset.default()
    with rampart.Transaction(rules) as tx:
        tx.set_request("GET", "/item?id=1%27%20or%201%3D1--")
        tx.add_header("Host", "shop.example")
        verdict = tx.evaluate(rampart.Phase.REQUEST_HEADERS)
        if verdict.action is rampart.Action.BLOCK:
            ...  # answer verdict.status

Strings given as ``str`` are encoded as UTF-8 (``surrogateescape``, so
``os.fsdecode``-style text round-trips); give ``bytes`` to pass exact bytes
(e.g. a WSGI ``PATH_INFO``: ``environ["PATH_INFO"].encode("latin-1")``).

The raw C declarations are in :mod:`rampart._ffi`.
"""

import ctypes
import enum
import os
import threading
from dataclasses import dataclass

from . import _ffi
from ._ffi import lib as _lib

__all__ = [
    "ABI_VERSION",
    "Action",
    "Limit",
    "Match",
    "Phase",
    "RampartError",
    "RampartIOError",
    "Result",
    "RuleError",
    "Ruleset",
    "Severity",
    "Transaction",
    "Verdict",
    "inspect",
    "library_path",
    "library_version",
]

__version__ = "0.1.0"

#: The library's ABI version (major << 16 | minor); the major was checked at import.
ABI_VERSION = _ffi.ABI_VERSION
#: The library's version string, e.g. "0.1.0".
library_version = _ffi.VERSION
#: The path (or soname) librampart was loaded from.
library_path = _ffi.library_path


class Phase(enum.IntEnum):
    """A request phase (``RAMPART_PHASE_*``)."""

    REQUEST_HEADERS = _ffi.RAMPART_PHASE_REQUEST_HEADERS
    REQUEST_BODY = _ffi.RAMPART_PHASE_REQUEST_BODY


class Action(enum.IntEnum):
    """What the host should do with the request (``RAMPART_ACTION_*``)."""

    ALLOW = _ffi.RAMPART_ACTION_ALLOW
    BLOCK = _ffi.RAMPART_ACTION_BLOCK
    LOG = _ffi.RAMPART_ACTION_LOG


class Severity(enum.IntEnum):
    """A rule's severity (``RAMPART_SEVERITY_*``)."""

    NONE = _ffi.RAMPART_SEVERITY_NONE
    CRITICAL = _ffi.RAMPART_SEVERITY_CRITICAL
    ERROR = _ffi.RAMPART_SEVERITY_ERROR
    WARNING = _ffi.RAMPART_SEVERITY_WARNING
    NOTICE = _ffi.RAMPART_SEVERITY_NOTICE


class Limit(enum.IntEnum):
    """The limit a request went over (``RAMPART_LIMIT_*``)."""

    NONE = _ffi.RAMPART_LIMIT_NONE
    BODY_BYTES = _ffi.RAMPART_LIMIT_BODY_BYTES
    ARGS = _ffi.RAMPART_LIMIT_ARGS
    HEADERS = _ffi.RAMPART_LIMIT_HEADERS
    HEADER_BYTES = _ffi.RAMPART_LIMIT_HEADER_BYTES
    URI_BYTES = _ffi.RAMPART_LIMIT_URI_BYTES
    JSON_DEPTH = _ffi.RAMPART_LIMIT_JSON_DEPTH
    MULTIPART_PARTS = _ffi.RAMPART_LIMIT_MULTIPART_PARTS


class Result(enum.IntEnum):
    """Status codes of the C API (``RAMPART_RESULT_*``)."""

    OK = _ffi.RAMPART_RESULT_OK
    NULL_ARGUMENT = _ffi.RAMPART_RESULT_NULL_ARGUMENT
    INVALID_ARGUMENT = _ffi.RAMPART_RESULT_INVALID_ARGUMENT
    RULE_ERROR = _ffi.RAMPART_RESULT_RULE_ERROR
    LIMIT_EXCEEDED = _ffi.RAMPART_RESULT_LIMIT_EXCEEDED
    BUFFER_TOO_SMALL = _ffi.RAMPART_RESULT_BUFFER_TOO_SMALL
    PANIC = _ffi.RAMPART_RESULT_PANIC
    POISONED = _ffi.RAMPART_RESULT_POISONED
    IO = _ffi.RAMPART_RESULT_IO
    TOO_LATE = _ffi.RAMPART_RESULT_TOO_LATE


def _enum(cls, value):
    """`cls(value)`, or the plain int for a value added by a newer minor ABI."""
    try:
        return cls(value)
    except ValueError:
        return value


class RampartError(Exception):
    """A failed call into the library; ``code`` is the :class:`Result`."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = _enum(Result, code) if code is not None else None


class RuleError(RampartError):
    """Rules or a config that do not compile.

    ``message`` holds every error found (``file:line:column: error: ...``, the
    source line and a caret line); ``file``, ``line`` and ``column`` (1-based;
    0 when unknown) locate the first one.
    """

    def __init__(self, message, file="", line=0, column=0, code=Result.RULE_ERROR):
        super().__init__(message, code)
        self.file = file
        self.line = line
        self.column = column

    def __str__(self):
        return self.message


class RampartIOError(RuleError, OSError):
    """A config, rule or data file that cannot be read (``Result.IO``).

    Also an :class:`OSError`; carries the same ``message``, ``file``, ``line``
    and ``column`` as :class:`RuleError` (the place is the ``include`` naming
    the file, when there is one).
    """


def _check(code, what):
    if code != _ffi.RAMPART_RESULT_OK:
        name = _enum(Result, code)
        name = name.name if isinstance(name, Result) else str(code)
        raise RampartError(f"{what}: {name}", code)


def _located_error(code, err):
    """The exception for a failed compile or load; frees `err`."""
    try:
        if not err:
            _check(code, "rampart")
        message = (_lib.rampart_error_message(err) or b"").decode("utf-8", "replace").rstrip("\n")
        file = (_lib.rampart_error_file(err) or b"").decode("utf-8", "surrogateescape")
        line = _lib.rampart_error_line(err)
        column = _lib.rampart_error_column(err)
    finally:
        _lib.rampart_error_free(err)
    cls = RampartIOError if code == _ffi.RAMPART_RESULT_IO else RuleError
    return cls(message, file, line, column, code)


def _bytes(value, what):
    """Bytes for a string argument (no copy for bytes)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


class Ruleset:
    """A compiled rule set: immutable and safe to share between threads.

    Make one with :meth:`default`, :meth:`compile` or :meth:`load`. Close it
    with :meth:`close` (or a ``with`` block) when done; transactions made from
    it hold their own reference, so closing it while they run is safe.
    """

    __slots__ = ("_ptr", "__weakref__")

    def __init__(self, _ptr=None):
        if not _ptr:
            raise TypeError("use Ruleset.default(), Ruleset.compile(text) or Ruleset.load(path)")
        self._ptr = _ptr

    @classmethod
    def default(cls):
        """The built-in default rule set with its own settings."""
        out = _ffi.P_ruleset()
        _check(_lib.rampart_ruleset_default(ctypes.byref(out)), "rampart_ruleset_default")
        return cls(out)

    @classmethod
    def compile(cls, text):
        """Compiles rule text (``str`` or UTF-8 ``bytes``) with the default
        settings; errors name the text ``<inline>``. Raises :class:`RuleError`."""
        data = _bytes(text, "text")
        out, err = _ffi.P_ruleset(), _ffi.P_error()
        code = _lib.rampart_ruleset_compile(data, len(data), ctypes.byref(out), ctypes.byref(err))
        if code != _ffi.RAMPART_RESULT_OK:
            raise _located_error(code, err)
        return cls(out)

    @classmethod
    def load(cls, config_path):
        """Loads an engine config (``rampart.toml``) and the rule files it
        includes. Raises :class:`RampartIOError` when a file cannot be read and
        :class:`RuleError` when a config or rule file is wrong."""
        path = os.fsencode(config_path)
        out, err = _ffi.P_ruleset(), _ffi.P_error()
        code = _lib.rampart_ruleset_load(path, len(path), ctypes.byref(out), ctypes.byref(err))
        if code == _ffi.RAMPART_RESULT_INVALID_ARGUMENT:
            if err:
                _lib.rampart_error_free(err)
            raise ValueError(f"invalid config path: {config_path!r}")
        if code != _ffi.RAMPART_RESULT_OK:
            raise _located_error(code, err)
        return cls(out)

    def _handle(self):
        if not self._ptr:
            raise ValueError("ruleset is closed")
        return self._ptr

    @property
    def rule_count(self):
        """The number of rules compiled into the ruleset."""
        return _lib.rampart_ruleset_rule_count(self._handle())

    @property
    def closed(self):
        return not self._ptr

    def transaction(self):
        """A new :class:`Transaction` on this ruleset."""
        return Transaction(self)

    def close(self):
        """Releases this reference to the ruleset (idempotent)."""
        ptr, self._ptr = self._ptr, None
        if ptr:
            _lib.rampart_ruleset_release(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self, _release=_lib.rampart_ruleset_release):
        # Fallback for rulesets never closed; `_release` is bound now because
        # module globals may be gone at interpreter shutdown.
        ptr = getattr(self, "_ptr", None)
        if ptr:
            self._ptr = None
            _release(ptr)

    def __repr__(self):
        if not self._ptr:
            return "<rampart.Ruleset closed>"
        return f"<rampart.Ruleset rules={self.rule_count}>"


@dataclass(frozen=True)
class Verdict:
    """The outcome of an evaluation."""

    #: ALLOW, BLOCK or LOG (LOG: rules matched below the threshold, or detect mode).
    action: Action
    #: The HTTP status to answer a block with (in detect mode, the one block
    #: mode would use); 0 when ``would_block`` is false.
    status: int
    #: The anomaly score so far (it accumulates across phases).
    score: int
    #: How many rules matched.
    match_count: int
    #: Whether block mode would block (also true in detect mode).
    would_block: bool
    #: The phase last evaluated.
    phase: Phase
    #: The limit the request went over, ``Limit.NONE`` if none.
    limit: Limit

    @property
    def blocked(self):
        """``action is Action.BLOCK``."""
        return self.action == Action.BLOCK


@dataclass(frozen=True)
class Match:
    """One matched rule, copied out of the transaction."""

    rule_id: int
    severity: Severity
    #: The phase the rule matched in.
    phase: Phase
    #: Byte offset of the match in the transformed value.
    offset: int
    message: str
    #: The field as rule authors write it: ``args["q"]``, ``path``; "" for
    #: rules without a field.
    field: str
    #: Up to 64 bytes of the transformed value from the match on.
    snippet: bytes


def _view(ptr, length):
    return ctypes.string_at(ptr, length) if length else b""


class Transaction:
    """One request at a time, evaluated against a :class:`Ruleset`.

    Feed it the request line, headers and body chunks, evaluate it by phase,
    read the verdict and matches, then :meth:`reset` it for the next request
    or :meth:`close` it. A transaction belongs to one thread at a time; calls
    on it are serialized by a lock, so misuse from two threads is slow but not
    unsafe.
    """

    __slots__ = ("_ptr", "_lock", "__weakref__")

    def __init__(self, ruleset):
        if not isinstance(ruleset, Ruleset):
            raise TypeError(f"ruleset must be a Ruleset, not {type(ruleset).__name__}")
        self._lock = threading.Lock()
        self._ptr = None
        ptr = _lib.rampart_tx_new(ruleset._handle())
        if not ptr:
            raise RampartError("rampart_tx_new failed", Result.PANIC)
        self._ptr = ptr

    def _handle(self):
        if not self._ptr:
            raise ValueError("transaction is closed")
        return self._ptr

    def set_request(self, method, uri, protocol="HTTP/1.1"):
        """Sets the request line: method, request target as received
        (``/path?query``), protocol (``""`` for HTTP/0.9)."""
        m, u, p = _bytes(method, "method"), _bytes(uri, "uri"), _bytes(protocol, "protocol")
        with self._lock:
            _check(_lib.rampart_tx_set_request(self._handle(), m, len(m), u, len(u), p, len(p)), "set_request")

    def set_client(self, ip):
        """Sets the client address as text (``203.0.113.7``, ``2001:db8::1``)."""
        b = _bytes(ip, "ip")
        with self._lock:
            _check(_lib.rampart_tx_set_client(self._handle(), b, len(b)), "set_client")

    def set_scheme(self, scheme):
        """Sets the scheme the request arrived with (``http`` or ``https``)."""
        b = _bytes(scheme, "scheme")
        with self._lock:
            _check(_lib.rampart_tx_set_scheme(self._handle(), b, len(b)), "set_scheme")

    def set_request_id(self, request_id):
        """Sets the request id written in the audit event (64 bytes kept)."""
        b = _bytes(request_id, "request_id")
        with self._lock:
            _check(_lib.rampart_tx_set_request_id(self._handle(), b, len(b)), "set_request_id")

    def add_header(self, name, value):
        """Adds a request header (in order; duplicates kept)."""
        n, v = _bytes(name, "name"), _bytes(value, "value")
        with self._lock:
            _check(_lib.rampart_tx_add_header(self._handle(), n, len(n), v, len(v)), "add_header")

    def add_headers(self, headers):
        """Adds each (name, value) of an iterable of pairs or a mapping."""
        items = headers.items() if hasattr(headers, "items") else headers
        for name, value in items:
            self.add_header(name, value)

    def append_body(self, chunk):
        """Appends a chunk of the request body (bytes-like, or str as UTF-8)."""
        b = _bytes(chunk, "chunk")
        with self._lock:
            _check(_lib.rampart_tx_append_body(self._handle(), b, len(b)), "append_body")

    def evaluate(self, phase):
        """Evaluates up to ``phase`` and returns the :class:`Verdict`. Phases
        run in order, each once; scores accumulate."""
        out = _ffi.rampart_verdict()
        with self._lock:
            _check(_lib.rampart_tx_evaluate(self._handle(), int(phase), ctypes.byref(out)), "evaluate")
        return Verdict(
            action=_enum(Action, out.action),
            status=out.status,
            score=out.score,
            match_count=out.match_count,
            would_block=bool(out.would_block),
            phase=_enum(Phase, out.phase),
            limit=_enum(Limit, out.limit),
        )

    def matches(self):
        """The matched rules so far, in decision order (copies)."""
        out = _ffi.rampart_match()
        found = []
        with self._lock:
            tx = self._handle()
            for i in range(_lib.rampart_tx_match_count(tx)):
                _check(_lib.rampart_tx_match(tx, i, ctypes.byref(out)), "match")
                found.append(
                    Match(
                        rule_id=out.rule_id,
                        severity=_enum(Severity, out.severity),
                        phase=_enum(Phase, out.phase),
                        offset=out.offset,
                        message=_view(out.message, out.message_len).decode("utf-8", "replace"),
                        field=_view(out.field, out.field_len).decode("utf-8", "replace"),
                        snippet=_view(out.snippet, out.snippet_len),
                    )
                )
        return found

    def audit_json(self):
        """The audit event: one JSON object (without the trailing newline)."""
        with self._lock:
            tx = self._handle()
            need = _lib.rampart_tx_audit_json(tx, None, 0)
            while True:
                buf = ctypes.create_string_buffer(need + 1)
                n = _lib.rampart_tx_audit_json(tx, buf, len(buf))
                if n <= len(buf):
                    break
                need = n  # the event grew between the two calls
        return buf.raw[:n].decode("utf-8", "replace").rstrip("\n")

    def reset(self):
        """Forgets the request (keeping memory) to take the next one."""
        with self._lock:
            _lib.rampart_tx_reset(self._handle())

    def reset_with(self, ruleset):
        """Like :meth:`reset`, moving to another ruleset (after a reload)."""
        if not isinstance(ruleset, Ruleset):
            raise TypeError(f"ruleset must be a Ruleset, not {type(ruleset).__name__}")
        with self._lock:
            _check(_lib.rampart_tx_reset_with(self._handle(), ruleset._handle()), "reset_with")

    @property
    def closed(self):
        return not self._ptr

    def close(self):
        """Frees the transaction (idempotent)."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
            if ptr:
                _lib.rampart_tx_free(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self, _free=_lib.rampart_tx_free):
        ptr = getattr(self, "_ptr", None)
        if ptr:
            self._ptr = None
            _free(ptr)

    def __repr__(self):
        return "<rampart.Transaction closed>" if not self._ptr else "<rampart.Transaction>"


def inspect(ruleset, method, uri, headers=(), body=b"", *, client=None, protocol="HTTP/1.1"):
    """Evaluates one whole request as a host would: the request line and
    headers first, then (unless that blocks) the body. ``headers`` is an
    iterable of (name, value) pairs or a mapping. Returns
    ``(Verdict, [Match, ...])``."""
    with Transaction(ruleset) as tx:
        if client is not None:
            tx.set_client(client)
        tx.set_request(method, uri, protocol)
        tx.add_headers(headers)
        verdict = tx.evaluate(Phase.REQUEST_HEADERS)
        if verdict.action != Action.BLOCK:
            if body:
                tx.append_body(body)
            verdict = tx.evaluate(Phase.REQUEST_BODY)
        return verdict, tx.matches()
