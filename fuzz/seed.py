#!/usr/bin/env python3
"""Extracts fuzz seeds from the shared request corpora (JSON lines) and the
repository's own rules and configs into fuzz/corpus/<target>/.

Called by fuzz/seed.sh; see docs/hardening.md. Input formats are those of
fuzz/src/lib.rs (check_<target>).
"""
import base64
import glob
import hashlib
import json
import os
import sys

SEP = b"\xfe\xff"
PER_TARGET = int(os.environ.get("SEEDS_PER_TARGET", "3000"))
MAX_LEN = 8192


def write(target, data, counts):
    if len(data) > MAX_LEN or counts.get(target, 0) >= PER_TARGET:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(d, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1


def body_of(r):
    if "body_b64" in r:
        return base64.b64decode(r["body_b64"])
    return r.get("body", "").encode("utf-8", "surrogateescape")


def header(r, name):
    for n, v in r.get("headers") or []:
        if str(n).lower() == name:
            return str(v).encode("utf-8", "surrogateescape")
    return b""


def records(paths):
    for p in paths:
        with open(p, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        pass


def main():
    global OUT
    corpus_dir, repo, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
    counts = {}
    files = sorted(glob.glob(os.path.join(corpus_dir, "*.jsonl")))
    files += [os.path.join(repo, "examples", "requests.jsonl")]
    # Interleave the corpora so that each target gets some of every one.
    recs = []
    for p in files:
        recs.append(list(records([p])))
    merged = []
    for i in range(max(len(r) for r in recs)):
        for r in recs:
            if i < len(r):
                merged.append(r[i])
    for i, r in enumerate(merged):
        enc = lambda s: str(s).encode("utf-8", "surrogateescape")
        body = body_of(r)
        uri = enc(r.get("uri", "/"))
        parts = [enc(r.get("method", "GET")), uri, enc(r.get("version", "HTTP/1.1")), body]
        for n, v in r.get("headers") or []:
            parts += [enc(n), enc(v)]
        flags = (i * 37) & 0x7F
        write("evaluate", bytes([flags]) + SEP.join(parts), counts)
        ct = header(r, "content-type").lower()
        sel = bytes([i & 0x7F])
        if body and b"urlencoded" in ct:
            write("body_urlencoded", sel + body, counts)
        if b"?" in uri:
            write("body_urlencoded", sel + uri.split(b"?", 1)[1], counts)
        if body and b"json" in ct:
            write("body_json", sel + body, counts)
        if body and b"multipart" in ct:
            ct_full = header(r, "content-type")
            write("body_multipart", sel + ct_full + b"\n" + body, counts)
        # Transforms: argument values and the path, as sent.
        for piece in uri.split(b"?", 1)[-1].split(b"&")[:4]:
            write("transforms", bytes([i & 0xFF]) + piece, counts)
        if body and len(body) < 2048:
            write("transforms", bytes([(i * 7) & 0xFF]) + body, counts)
    # Rule files: whole files (small ones) and each rule on its own.
    for path in sorted(glob.glob(os.path.join(repo, "rules", "**", "*.rules"), recursive=True)):
        text = open(path, "rb").read()
        write("parse_rules", text, counts)
        for chunk in text.split(b"\nrule ")[1:]:
            write("parse_rules", b"rule " + chunk.split(b"\n}\n")[0] + b"\n}\n", counts)
    import tomllib
    for path in sorted(glob.glob(os.path.join(repo, "tests", "cases", "*", "*.toml"))):
        try:
            cases = tomllib.load(open(path, "rb")).get("case", [])
        except Exception:
            continue
        for case in cases:
            for key, value in case.items():
                if not isinstance(value, str):
                    continue
                if key == "config":
                    write("config_toml", value.encode(), counts)
                elif key in ("rules", "text", "source", "input") or "rule " in value:
                    write("parse_rules", value.encode(), counts)
    for path in sorted(glob.glob(os.path.join(repo, "rules", "*.toml"))):
        write("config_toml", open(path, "rb").read(), counts)
    for target in sorted(counts):
        print(f"{target}: {counts[target]} seeds")


if __name__ == "__main__":
    main()
