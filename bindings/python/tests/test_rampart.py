"""Tests of the ctypes bindings against the real librampart.so.

Run with bindings/python/run-tests.sh (it builds the library and sets
RAMPART_LIBRARY), or `RAMPART_LIBRARY=... python3 -m pytest` from
bindings/python.
"""

import concurrent.futures
import gc
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import pytest

import rampart
from rampart import (
    Action,
    Limit,
    Match,
    Phase,
    RampartError,
    RampartIOError,
    Result,
    RuleError,
    Ruleset,
    Severity,
    Transaction,
    Verdict,
    inspect,
)

REPO = pathlib.Path(__file__).resolve().parents[3]

SQLI_URI = "/item?id=1%27%20or%201%3D1--"
XSS_JSON = b'{"comment": "<script>alert(document.cookie)</script>", "rating": 5}'
JSON_HEADERS = [("Host", "api.example"), ("Content-Type", "application/json")]
FORM_HEADERS = [("Host", "shop.example"), ("Content-Type", "application/x-www-form-urlencoded")]

DEMO_RULES = """\
rule 1000 "Demo: attack word in an argument" {
    severity critical
    tags     demo
    inspect  args
    transform lowercase
    match    contains "attack"
}

rule 1001 "Demo: teapot path" {
    when   path == "/teapot"
    action deny 418
}
"""


@pytest.fixture(scope="module")
def rules():
    rs = Ruleset.default()
    yield rs
    rs.close()


@pytest.fixture
def tx(rules):
    with Transaction(rules) as t:
        yield t


def write_config(tmp_path, engine="", limits="", rules_text=DEMO_RULES):
    (tmp_path / "demo.rules").write_text(rules_text)
    config = tmp_path / "rampart.toml"
    config.write_text(f'[engine]\n{engine}\n[rules]\ninclude = ["*.rules"]\n[limits]\n{limits}\n')
    return config


# --- library and rulesets -------------------------------------------------------


def test_library_is_loaded_and_abi_major_matches():
    assert rampart.ABI_VERSION >> 16 == rampart._ffi.RAMPART_ABI_VERSION >> 16 == 1
    assert rampart.library_version.count(".") == 2
    if os.environ.get("RAMPART_LIBRARY"):
        assert rampart.library_path == os.environ["RAMPART_LIBRARY"]


PKG_ROOT = pathlib.Path(__file__).resolve().parents[1]


def import_in_subprocess(env_library, code="import rampart; print(rampart.library_path)"):
    env = {k: v for k, v in os.environ.items() if k != "RAMPART_LIBRARY"}
    if env_library is not None:
        env["RAMPART_LIBRARY"] = str(env_library)
    env["PYTHONPATH"] = str(PKG_ROOT)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd="/")


def test_lookup_falls_back_to_the_source_tree_build():
    in_tree = REPO / "target" / "release" / "librampart.so"
    if not in_tree.exists():
        pytest.skip(f"{in_tree} not built")
    run = import_in_subprocess(None)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(in_tree)


def test_bad_library_path_is_a_clear_import_error(tmp_path):
    run = import_in_subprocess(tmp_path / "missing.so")
    assert run.returncode != 0
    assert "ImportError: rampart: cannot load RAMPART_LIBRARY=" in run.stderr


def test_abi_major_mismatch_is_refused(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a fake library")
    src = tmp_path / "fake.c"
    src.write_text("unsigned rampart_abi_version(void) { return 2u << 16 | 3u; }\n")
    so = tmp_path / "libfake.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    run = import_in_subprocess(so)
    assert run.returncode != 0
    assert "has ABI version 2.3, but these bindings need ABI major version 1" in run.stderr


def test_struct_layouts_match_the_header():
    import ctypes

    assert ctypes.sizeof(rampart._ffi.rampart_verdict) == 7 * 4 + 9 * 4
    assert rampart._ffi.rampart_verdict.reserved.offset == 28
    assert rampart._ffi.rampart_match.message.offset == 16
    assert ctypes.sizeof(rampart._ffi.rampart_match) == 16 + 10 * 8


def header_text():
    header = REPO / "include" / "rampart.h"
    if not header.exists():
        pytest.skip(f"{header} not present")
    text = header.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments
    return re.sub(r"^\s*#(?!define).*$", "", text, flags=re.M)  # preprocessor lines but #define


def test_ffi_declares_every_header_function_in_order():
    prototypes = re.findall(r"\b(rampart_\w+)\s*\(([^)]*)\)\s*;", header_text())
    declared = [(name, len(argtypes)) for name, _, argtypes in rampart._ffi._FUNCTIONS]
    in_header = [(name, 0 if args.strip() in ("", "void") else args.count(",") + 1) for name, args in prototypes]
    assert declared == in_header


def test_ffi_constants_and_struct_fields_match_the_header():
    text = header_text()
    defines = dict(re.findall(r"^#define (RAMPART_\w+) (.+)$", text, flags=re.M))
    abi = defines["RAMPART_ABI_VERSION"]  # "(1 << 16)", later e.g. "((1 << 16) | 2)"
    assert re.fullmatch(r"[\d\s<|()]+", abi), abi
    defines["RAMPART_ABI_VERSION"] = str(eval(abi, {"__builtins__": {}}))
    defines.update(re.findall(r"(RAMPART_RESULT_\w+) = (\d+)", text))
    assert len(defines) >= 28
    for name, value in defines.items():
        assert getattr(rampart._ffi, name) == int(value), name
    for struct in ("rampart_verdict", "rampart_match"):
        body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (struct, struct), text, re.S).group(1)
        fields = re.findall(r"(\w+)(?:\[(\d+)\])?;", body)
        cls = getattr(rampart._ffi, struct)
        assert [f[0] for f in fields] == [f[0] for f in cls._fields_]
        for (name, n), (_, ctype) in zip(fields, cls._fields_):
            if n:
                assert ctype._length_ == int(n), name


def test_default_ruleset_has_rules(rules):
    assert rules.rule_count > 10
    assert "rules=" in repr(rules)


def test_compile_custom_rules():
    with Ruleset.compile(DEMO_RULES) as rs:
        assert rs.rule_count == 2
        verdict, matches = inspect(rs, "GET", "/teapot", [("Host", "x")])
        assert (verdict.action, verdict.status) == (Action.BLOCK, 418)
        assert [m.rule_id for m in matches] == [1001]
        assert matches[0].field == "" and matches[0].snippet == b""


def test_compile_accepts_bytes():
    with Ruleset.compile(DEMO_RULES.encode()) as rs:
        assert rs.rule_count == 2


def test_compile_error_carries_place():
    text = 'rule 1 "x" {\n    severity critical\n    inspect args\n    transform url_decod\n    match contains "a"\n}\n'
    with pytest.raises(RuleError) as info:
        Ruleset.compile(text)
    e = info.value
    assert not isinstance(e, RampartIOError)
    assert (e.file, e.line, e.column) == ("<inline>", 4, 15)
    assert e.code == Result.RULE_ERROR
    assert e.message.startswith("<inline>:4:15: error: unknown transform `url_decod`")
    assert "did you mean `url_decode`" in str(e)


def test_compile_reports_every_error_and_locates_the_first():
    text = 'rule 1 "a" {\n  severity bogus\n}\nrule 2 "b" {\n  severity critical\n  frobnicate\n}\n'
    with pytest.raises(RuleError) as info:
        Ruleset.compile(text)
    e = info.value
    assert (e.line, e.column) == (2, 12)
    assert e.message.count(": error: ") >= 2


def test_compile_rejects_text_that_is_not_utf8():
    with pytest.raises(RuleError) as info:
        Ruleset.compile(b'rule 1 "\xff" { action deny }')
    assert info.value.code == Result.INVALID_ARGUMENT
    assert "not UTF-8" in info.value.message


def test_compile_rejects_wrong_types():
    with pytest.raises(TypeError):
        Ruleset.compile(42)
    with pytest.raises(TypeError):
        Ruleset()


def test_load_missing_file_is_an_io_error(tmp_path):
    missing = tmp_path / "nope" / "rampart.toml"
    with pytest.raises(RampartIOError) as info:
        Ruleset.load(missing)
    e = info.value
    assert isinstance(e, OSError) and isinstance(e, RuleError)
    assert e.code == Result.IO
    assert e.file == str(missing)
    assert "No such file" in e.message


def test_load_bad_config_is_a_rule_error_with_place(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[engine]\nmode = "block"\nparanoya = 2\n')
    with pytest.raises(RuleError) as info:
        Ruleset.load(str(config))
    e = info.value
    assert not isinstance(e, RampartIOError)
    assert (e.file, e.line, e.column) == (str(config), 3, 1)
    assert "unknown field `paranoya`" in e.message


def test_load_bad_rule_file_names_it(tmp_path):
    config = write_config(tmp_path, rules_text='rule 5 "x" {\n  action deny\n  when path = "/"\n}\n')
    with pytest.raises(RuleError) as info:
        Ruleset.load(config)
    assert info.value.file.endswith("demo.rules")
    assert info.value.line == 3


def test_load_empty_path_is_a_value_error():
    with pytest.raises(ValueError):
        Ruleset.load("")


def test_load_repository_config_matches_default(rules):
    config = REPO / "rules" / "rampart.toml"
    if not config.exists():
        pytest.skip(f"{config} not present")
    with Ruleset.load(config) as rs:
        assert rs.rule_count == rules.rule_count


# --- verdicts and matches ----------------------------------------------------------


def test_sqli_in_query_blocks_before_the_body(tx):
    tx.set_request("GET", SQLI_URI)
    tx.add_header("Host", "shop.example")
    v = tx.evaluate(Phase.REQUEST_HEADERS)
    assert isinstance(v, Verdict)
    assert v.action is Action.BLOCK and v.blocked
    assert v.status == 403
    assert v.would_block is True
    assert v.score >= 5
    assert v.phase is Phase.REQUEST_HEADERS
    assert v.limit is Limit.NONE
    matches = tx.matches()
    assert v.match_count == len(matches) >= 1
    sqli = [m for m in matches if 942000 <= m.rule_id < 943000]
    assert sqli, matches
    m = sqli[0]
    assert isinstance(m, Match)
    assert m.severity is Severity.CRITICAL
    assert m.phase is Phase.REQUEST_HEADERS
    assert m.field == 'args["id"]'
    assert isinstance(m.snippet, bytes) and b"or 1=1" in m.snippet
    assert isinstance(m.message, str) and "SQL injection" in m.message
    assert m.offset >= 0


def test_xss_in_json_body_blocks_in_the_body_phase(tx):
    tx.set_request("POST", "/api/comments")
    tx.add_headers(JSON_HEADERS)
    assert tx.evaluate(Phase.REQUEST_HEADERS).action is Action.ALLOW
    tx.append_body(XSS_JSON)
    v = tx.evaluate(Phase.REQUEST_BODY)
    assert (v.action, v.status, v.phase) == (Action.BLOCK, 403, Phase.REQUEST_BODY)
    xss = [m for m in tx.matches() if 941000 <= m.rule_id < 942000]
    assert xss and all(m.phase is Phase.REQUEST_BODY for m in xss)
    assert xss[0].field == 'args["comment"]'
    assert b"<script>" in xss[0].snippet


@pytest.mark.parametrize(
    "uri",
    ["/download?file=../../../../etc/passwd", "/static/..%2f..%2f..%2fetc/passwd", "/a/../../etc/shadow"],
)
def test_path_traversal_blocks(rules, uri):
    v, matches = inspect(rules, "GET", uri, [("Host", "shop.example")])
    assert v.action is Action.BLOCK, (uri, matches)
    assert any(930000 <= m.rule_id < 931000 for m in matches)


@pytest.mark.parametrize(
    "method, uri, headers, body",
    [
        ("GET", "/products?category=shoes&sort=price&page=2", [("Host", "shop.example")], b""),
        ("GET", "/search?q=select+a+gift+for+O%27Brien", [("Host", "shop.example")], b""),
        ("PUT", "/api/v1/users/42", JSON_HEADERS,
         b'{"name": "Ada O\'Brien", "bio": "I love SQL and union workers.", "tags": ["admin", "editor"]}'),
        ("POST", "/login", FORM_HEADERS, b"user=alice%40example.com&password=c0rrect%20horse&remember=1"),
    ],
)
def test_benign_requests_pass(rules, method, uri, headers, body):
    v, matches = inspect(rules, method, uri, headers, body, client="203.0.113.7")
    assert v == Verdict(Action.ALLOW, 0, 0, 0, False, Phase.REQUEST_BODY, Limit.NONE), matches
    assert matches == []


def test_inspect_takes_a_mapping_and_bytes(rules):
    v, _ = inspect(rules, b"GET", b"/item?id=1%27%20or%201%3D1--", {"Host": "shop.example"})
    assert v.action is Action.BLOCK and v.phase is Phase.REQUEST_HEADERS


def test_body_in_chunks(tx):
    tx.set_request("POST", "/api/comments")
    tx.add_headers(JSON_HEADERS)
    for i in range(0, len(XSS_JSON), 7):  # splits "<script>" across chunks
        tx.append_body(XSS_JSON[i : i + 7])
    v = tx.evaluate(Phase.REQUEST_BODY)
    assert v.action is Action.BLOCK
    assert any(m.field == 'args["comment"]' for m in tx.matches())


def test_body_chunks_accept_bytearray_memoryview_and_str(tx):
    tx.set_request("POST", "/login")
    tx.add_headers(FORM_HEADERS)
    tx.append_body(bytearray(b"user=admin%27%20"))
    tx.append_body(memoryview(b"or%201%3D1--"))
    tx.append_body("&x=1")
    assert tx.evaluate(Phase.REQUEST_BODY).action is Action.BLOCK
    with pytest.raises(TypeError):
        tx.append_body(12)


def test_headers_are_inspected(rules):
    v, matches = inspect(rules, "GET", "/", [("Host", "shop.example"), ("User-Agent", "sqlmap/1.7.2#stable")])
    assert v.action is Action.BLOCK
    assert any(m.field.lower() == 'headers["user-agent"]' for m in matches), matches


def test_unknown_phase_is_invalid_argument(tx):
    with pytest.raises(RampartError) as info:
        tx.evaluate(7)
    assert info.value.code == Result.INVALID_ARGUMENT


def test_limits_reject_oversized_bodies(tmp_path):
    config = write_config(tmp_path, limits="max_body_bytes = 16")
    with Ruleset.load(config) as rs:
        v, _ = inspect(rs, "POST", "/form", FORM_HEADERS, b"a=" + b"b" * 64)
    assert (v.action, v.status, v.limit) == (Action.BLOCK, 413, Limit.BODY_BYTES)


# --- audit events -----------------------------------------------------------------------


def test_audit_json(tx):
    tx.set_client("203.0.113.7")
    tx.set_request_id("req-42")
    tx.set_request("GET", SQLI_URI)
    tx.add_header("Host", "shop.example")
    tx.evaluate(Phase.REQUEST_HEADERS)
    line = tx.audit_json()
    assert isinstance(line, str) and "\n" not in line
    event = json.loads(line)
    for key in ("time", "request_id", "client", "method", "uri", "protocol", "host", "action", "status",
                "would_block", "score", "phase", "mode", "limit", "body_error", "matches"):
        assert key in event, key
    assert event["request_id"] == "req-42"
    assert event["client"] == "203.0.113.7"
    assert (event["method"], event["uri"], event["host"]) == ("GET", SQLI_URI, "shop.example")
    assert (event["action"], event["status"], event["mode"]) == ("block", 403, "block")
    assert event["phase"] == "request_headers"
    assert [m["id"] for m in event["matches"]] == [m.rule_id for m in tx.matches()]
    for key in ("id", "message", "severity", "tags", "field", "offset", "snippet", "phase"):
        assert key in event["matches"][0], key


def test_audit_json_escapes_raw_bytes(tx):
    tx.set_request(b"GET", b"/x?q=\xff\x00", b"HTTP/1.1")
    tx.add_header(b"Host", b"h")
    tx.evaluate(Phase.REQUEST_BODY)
    event = json.loads(tx.audit_json())
    assert event["uri"] == "/x?q=\\xff\\x00"


# --- life cycle ---------------------------------------------------------------------------


def test_reset_reuses_the_transaction(tx):
    tx.set_request("GET", SQLI_URI)
    tx.add_header("Host", "shop.example")
    assert tx.evaluate(Phase.REQUEST_HEADERS).action is Action.BLOCK
    old = tx.matches()
    tx.reset()
    assert tx.matches() == []
    assert old and old[0].message  # copies survive the reset
    for _ in range(3):
        tx.set_request("GET", "/products?page=2")
        tx.add_header("Host", "shop.example")
        v = tx.evaluate(Phase.REQUEST_BODY)
        assert (v.action, v.score, v.match_count) == (Action.ALLOW, 0, 0)
        tx.reset()


def test_reset_with_moves_to_another_ruleset(tx):
    with Ruleset.compile(DEMO_RULES) as demo:
        tx.reset_with(demo)
    # The transaction holds its own reference: the closed handle does not matter.
    tx.set_request("GET", "/teapot")
    assert tx.evaluate(Phase.REQUEST_HEADERS).status == 418
    with pytest.raises(ValueError):
        tx.reset_with(demo)


def test_detect_mode_logs_what_would_block(tmp_path):
    config = write_config(tmp_path, engine='mode = "detect"')
    with Ruleset.load(config) as rs:
        v, matches = inspect(rs, "GET", "/search?q=ATTACK", [("Host", "x")])
        assert v.action is Action.LOG
        assert v.would_block is True and v.status == 403
        assert [m.rule_id for m in matches] == [1000]
        assert matches[0].snippet == b"attack"  # transformed (lowercase)
        with Transaction(rs) as tx:
            tx.set_request("GET", "/?q=attack")
            tx.evaluate(Phase.REQUEST_BODY)
            event = json.loads(tx.audit_json())
            assert (event["mode"], event["action"], event["would_block"]) == ("detect", "log", True)


def test_close_is_idempotent_and_closed_handles_refuse_use(rules):
    tx = Transaction(rules)
    tx.close()
    tx.close()
    assert tx.closed
    with pytest.raises(ValueError):
        tx.set_request("GET", "/")
    with pytest.raises(ValueError):
        tx.matches()
    rs = Ruleset.compile(DEMO_RULES)
    rs.close()
    rs.close()
    with pytest.raises(ValueError):
        rs.rule_count
    with pytest.raises(ValueError):
        Transaction(rs)
    with pytest.raises(TypeError):
        Transaction("rules")


def test_transaction_outlives_its_ruleset_handle():
    rs = Ruleset.compile(DEMO_RULES)
    tx = rs.transaction()
    rs.close()
    tx.set_request("GET", "/teapot")
    assert tx.evaluate(Phase.REQUEST_BODY).status == 418
    tx.close()


def test_unclosed_handles_are_freed_by_the_garbage_collector():
    for _ in range(200):
        rs = Ruleset.compile(DEMO_RULES)
        tx = Transaction(rs)
        tx.set_request("GET", "/teapot")
        tx.evaluate(Phase.REQUEST_HEADERS)
        del rs, tx
    gc.collect()


# --- threads ------------------------------------------------------------------------------


def test_threads_share_a_ruleset(rules):
    requests = [
        ("GET", SQLI_URI, [("Host", "a")], b"", Action.BLOCK),
        ("GET", "/products?page=2", [("Host", "a")], b"", Action.ALLOW),
        ("POST", "/api/comments", JSON_HEADERS, XSS_JSON, Action.BLOCK),
        ("POST", "/login", FORM_HEADERS, b"user=alice&password=x", Action.ALLOW),
        ("GET", "/download?file=../../etc/passwd", [("Host", "a")], b"", Action.BLOCK),
    ] * 40
    local = threading.local()

    def run(req):
        method, uri, headers, body, _ = req
        tx = getattr(local, "tx", None)
        if tx is None:
            tx = local.tx = Transaction(rules)  # one per thread, reused
        tx.reset()
        tx.set_request(method, uri)
        tx.add_headers(headers)
        v = tx.evaluate(Phase.REQUEST_HEADERS)
        if v.action is not Action.BLOCK:
            tx.append_body(body)
            v = tx.evaluate(Phase.REQUEST_BODY)
        return v.action, sorted(m.rule_id for m in tx.matches()), threading.get_ident()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, requests))
    expected = {}
    for req, (action, ids, _) in zip(requests, results):
        assert action is req[4], req
        assert expected.setdefault(req[:2], ids) == ids  # same answer on every thread
    assert len({r[2] for r in results}) > 1


def test_late_data_is_refused_or_still_inspected():
    rs = Ruleset.default()
    with Transaction(rs) as tx:
        tx.set_request("GET", "/")
        tx.add_header("Host", "a.example")
        tx.evaluate(Phase.REQUEST_HEADERS)
        # The request line comes too late: refused, not silently ignored.
        with pytest.raises(rampart.RampartError) as info:
            tx.set_request("GET", "/?id=1%27%20or%201%3D1--")
        assert info.value.code == rampart.Result.TOO_LATE
        # A late header is still inspected, in the body phase.
        tx.add_header("User-Agent", "sqlmap/1.7")
        verdict = tx.evaluate(Phase.REQUEST_BODY)
        assert verdict.action == Action.BLOCK
        with pytest.raises(rampart.RampartError) as info:
            tx.append_body(b"x=1")
        assert info.value.code == rampart.Result.TOO_LATE
