"""Raw ctypes declarations mirroring include/rampart.h (ABI 1.x).

Keep this file a literal transcription of the header: every struct field,
reserved array, constant and function signature, in header order. The
pythonic API lives in ``rampart/__init__.py``; nothing here allocates or
frees on its own.

Library lookup (first that exists wins):

1. the ``RAMPART_LIBRARY`` environment variable (a path to ``librampart.so``);
2. ``../../target/release/librampart.so`` relative to ``bindings/python``
   (the folder holding this package), i.e. the build output of the source
   tree the package is imported from;
3. ``ctypes.util.find_library("rampart")`` (the system loader path).
"""

import ctypes
import ctypes.util
import os
import sys

# ---------------------------------------------------------------------------
# Constants (#define and enum values)
# ---------------------------------------------------------------------------

#: ABI version this module was written against: major << 16 | minor.
RAMPART_ABI_VERSION = 1 << 16

# enum rampart_result (uint32_t)
RAMPART_RESULT_OK = 0
RAMPART_RESULT_NULL_ARGUMENT = 1
RAMPART_RESULT_INVALID_ARGUMENT = 2
RAMPART_RESULT_RULE_ERROR = 3
RAMPART_RESULT_LIMIT_EXCEEDED = 4
RAMPART_RESULT_BUFFER_TOO_SMALL = 5
RAMPART_RESULT_PANIC = 6
RAMPART_RESULT_POISONED = 7
RAMPART_RESULT_IO = 8
RAMPART_RESULT_TOO_LATE = 9

RAMPART_PHASE_REQUEST_HEADERS = 0
RAMPART_PHASE_REQUEST_BODY = 1

RAMPART_ACTION_ALLOW = 0
RAMPART_ACTION_BLOCK = 1
RAMPART_ACTION_LOG = 2

RAMPART_SEVERITY_NONE = 0
RAMPART_SEVERITY_CRITICAL = 1
RAMPART_SEVERITY_ERROR = 2
RAMPART_SEVERITY_WARNING = 3
RAMPART_SEVERITY_NOTICE = 4

RAMPART_LIMIT_NONE = 0
RAMPART_LIMIT_BODY_BYTES = 1
RAMPART_LIMIT_ARGS = 2
RAMPART_LIMIT_HEADERS = 3
RAMPART_LIMIT_HEADER_BYTES = 4
RAMPART_LIMIT_URI_BYTES = 5
RAMPART_LIMIT_JSON_DEPTH = 6
RAMPART_LIMIT_MULTIPART_PARTS = 7

# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------

rampart_result = ctypes.c_uint32
rampart_phase = ctypes.c_uint32
rampart_action = ctypes.c_uint32
rampart_limit = ctypes.c_uint32
rampart_severity = ctypes.c_uint32


class rampart_error(ctypes.Structure):
    """Opaque (incomplete in C): only ever used through a pointer."""


class rampart_ruleset(ctypes.Structure):
    """Opaque (incomplete in C): only ever used through a pointer."""


class rampart_tx(ctypes.Structure):
    """Opaque (incomplete in C): only ever used through a pointer."""


class rampart_verdict(ctypes.Structure):
    """``struct rampart_verdict``: caller-allocated, 64 bytes in ABI 1.x."""

    _fields_ = [
        ("action", rampart_action),
        ("status", ctypes.c_uint32),
        ("score", ctypes.c_uint32),
        ("match_count", ctypes.c_uint32),
        ("phase", rampart_phase),
        ("limit", rampart_limit),
        ("would_block", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 9),
    ]


class rampart_match(ctypes.Structure):
    """``struct rampart_match``: the pointers are views into the transaction,
    valid until it is reset or freed; not NUL-terminated."""

    _fields_ = [
        ("rule_id", ctypes.c_uint32),
        ("severity", rampart_severity),
        ("phase", rampart_phase),
        ("offset", ctypes.c_uint32),
        # c_void_p, not c_char_p: c_char_p would read up to a NUL, and these
        # strings are (pointer, length) pairs without one.
        ("message", ctypes.c_void_p),
        ("message_len", ctypes.c_size_t),
        ("field", ctypes.c_void_p),
        ("field_len", ctypes.c_size_t),
        ("snippet", ctypes.c_void_p),
        ("snippet_len", ctypes.c_size_t),
        ("reserved", ctypes.c_size_t * 4),
    ]


assert ctypes.sizeof(rampart_verdict) == 64
assert ctypes.sizeof(rampart_match) == 16 + 3 * ctypes.sizeof(ctypes.c_void_p) + 7 * ctypes.sizeof(ctypes.c_size_t)

P_ruleset = ctypes.POINTER(rampart_ruleset)
P_tx = ctypes.POINTER(rampart_tx)
P_error = ctypes.POINTER(rampart_error)

# (name, restype, argtypes) in header order. Inputs `const char *` and
# `const uint8_t *` with a length are c_char_p: ctypes passes a bytes
# object's own buffer (no copy, no NUL needed since lengths are explicit).
# The output buffer `char *buf` is c_char_p too (takes create_string_buffer).
# NUL-terminated strings coming out (version, error accessors) are c_char_p.
_FUNCTIONS = [
    ("rampart_abi_version", ctypes.c_uint32, []),
    ("rampart_version", ctypes.c_char_p, []),
    ("rampart_ruleset_default", rampart_result, [ctypes.POINTER(P_ruleset)]),
    ("rampart_ruleset_compile", rampart_result,
     [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(P_ruleset), ctypes.POINTER(P_error)]),
    ("rampart_ruleset_load", rampart_result,
     [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(P_ruleset), ctypes.POINTER(P_error)]),
    ("rampart_ruleset_retain", P_ruleset, [P_ruleset]),
    ("rampart_ruleset_release", None, [P_ruleset]),
    ("rampart_ruleset_rule_count", ctypes.c_size_t, [P_ruleset]),
    ("rampart_error_message", ctypes.c_char_p, [P_error]),
    ("rampart_error_file", ctypes.c_char_p, [P_error]),
    ("rampart_error_line", ctypes.c_uint32, [P_error]),
    ("rampart_error_column", ctypes.c_uint32, [P_error]),
    ("rampart_error_free", None, [P_error]),
    ("rampart_tx_new", P_tx, [P_ruleset]),
    ("rampart_tx_free", None, [P_tx]),
    ("rampart_tx_reset", None, [P_tx]),
    ("rampart_tx_reset_with", rampart_result, [P_tx, P_ruleset]),
    ("rampart_tx_set_request", rampart_result,
     [P_tx, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
      ctypes.c_char_p, ctypes.c_size_t]),
    ("rampart_tx_set_client", rampart_result, [P_tx, ctypes.c_char_p, ctypes.c_size_t]),
    ("rampart_tx_set_scheme", rampart_result, [P_tx, ctypes.c_char_p, ctypes.c_size_t]),
    ("rampart_tx_set_request_id", rampart_result, [P_tx, ctypes.c_char_p, ctypes.c_size_t]),
    ("rampart_tx_add_header", rampart_result,
     [P_tx, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]),
    ("rampart_tx_append_body", rampart_result, [P_tx, ctypes.c_char_p, ctypes.c_size_t]),
    ("rampart_tx_evaluate", rampart_result, [P_tx, rampart_phase, ctypes.POINTER(rampart_verdict)]),
    ("rampart_tx_match_count", ctypes.c_size_t, [P_tx]),
    ("rampart_tx_match", rampart_result, [P_tx, ctypes.c_size_t, ctypes.POINTER(rampart_match)]),
    ("rampart_tx_audit_json", ctypes.c_size_t, [P_tx, ctypes.c_char_p, ctypes.c_size_t]),
]


def _load():
    """Opens the library (see the module docs for the order)."""
    env = os.environ.get("RAMPART_LIBRARY")
    if env:
        # An explicit choice: no silent fallback to another copy.
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise ImportError(f"rampart: cannot load RAMPART_LIBRARY={env!r}: {e}") from None
    tried = []
    here = os.path.dirname(os.path.abspath(__file__))
    in_tree = os.path.normpath(os.path.join(here, "..", "..", "..", "target", "release", "librampart.so"))
    if os.path.exists(in_tree):
        try:
            return ctypes.CDLL(in_tree), in_tree
        except OSError as e:
            tried.append(f"{in_tree} ({e})")
    else:
        tried.append(f"{in_tree} (not found)")
    system = ctypes.util.find_library("rampart")
    if system:
        try:
            return ctypes.CDLL(system), system
        except OSError as e:
            tried.append(f"{system} ({e})")
    else:
        tried.append('find_library("rampart") (not found)')
    raise ImportError(
        "rampart: cannot find librampart.so; tried " + ", ".join(tried)
        + ". Build it with `cargo build --release --lib`, or set RAMPART_LIBRARY to its path."
    )


lib, library_path = _load()

# The version first: a library of another major may lack or change any other symbol.
try:
    lib.rampart_abi_version.restype = ctypes.c_uint32
    lib.rampart_abi_version.argtypes = []
except AttributeError:
    raise ImportError(f"rampart: {library_path} is not a rampart library (no rampart_abi_version)") from None
_abi = lib.rampart_abi_version()
if _abi >> 16 != RAMPART_ABI_VERSION >> 16:
    raise ImportError(
        f"rampart: {library_path} has ABI version {_abi >> 16}.{_abi & 0xFFFF}, but these bindings "
        f"need ABI major version {RAMPART_ABI_VERSION >> 16}; use bindings from the same rampart "
        "release as the library (or rebuild the library)"
    )

for _name, _restype, _argtypes in _FUNCTIONS:
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        raise ImportError(f"rampart: {library_path} lacks {_name} (ABI {_abi >> 16}.{_abi & 0xFFFF})") from None
    _fn.restype = _restype
    _fn.argtypes = _argtypes
del _name, _restype, _argtypes, _fn

ABI_VERSION = _abi
VERSION = lib.rampart_version().decode("ascii", "replace")

__all__ = [n for n in dir(sys.modules[__name__]) if n.startswith(("rampart_", "RAMPART_"))] + [
    "lib", "library_path", "ABI_VERSION", "VERSION", "P_ruleset", "P_tx", "P_error",
]
