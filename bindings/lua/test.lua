-- Tests of the LuaJIT FFI bindings against the real librampart.so.
--
--   RAMPART_LIBRARY=target/release/librampart.so luajit bindings/lua/test.lua
--
-- (bindings/lua/run-tests.sh builds the library and does this.) Plain asserts;
-- prints one line per test with -v, else only failures and a summary.

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path

local ffi = require "ffi"
local rampart = require "rampart"

local verbose = arg and arg[1] == "-v"
local filter = arg and arg[1] ~= "-v" and arg[1] or nil

------------------------------------------------------------------------------
-- A minimal JSON decoder (the test must run without lua-cjson).
------------------------------------------------------------------------------

local json_null = setmetatable({}, { __tostring = function() return "null" end })

local function json_decode(s)
    local pos = 1
    local function fail(msg) error(string.format("json: %s at byte %d", msg, pos), 0) end
    local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
    local value
    local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
    local function utf8(cp)
        if cp < 0x80 then return string.char(cp) end
        if cp < 0x800 then return string.char(0xc0 + bit.rshift(cp, 6), 0x80 + bit.band(cp, 0x3f)) end
        if cp < 0x10000 then
            return string.char(0xe0 + bit.rshift(cp, 12), 0x80 + bit.band(bit.rshift(cp, 6), 0x3f),
                               0x80 + bit.band(cp, 0x3f))
        end
        return string.char(0xf0 + bit.rshift(cp, 18), 0x80 + bit.band(bit.rshift(cp, 12), 0x3f),
                           0x80 + bit.band(bit.rshift(cp, 6), 0x3f), 0x80 + bit.band(cp, 0x3f))
    end
    local function str()
        pos = pos + 1
        local out = {}
        while true do
            local c = s:sub(pos, pos)
            if c == "" then fail("unterminated string") end
            if c == '"' then pos = pos + 1 return table.concat(out) end
            if c:byte() < 0x20 then fail("control character in string") end
            if c == "\\" then
                local e = s:sub(pos + 1, pos + 1)
                if e == "u" then
                    local hex = s:sub(pos + 2, pos + 5)
                    if not hex:match("^%x%x%x%x$") then fail("bad \\u escape") end
                    local cp = tonumber(hex, 16)
                    pos = pos + 6
                    if cp >= 0xd800 and cp < 0xdc00 and s:sub(pos, pos + 1) == "\\u" then
                        local lo = tonumber(s:sub(pos + 2, pos + 5), 16)
                        cp = 0x10000 + (cp - 0xd800) * 0x400 + (lo - 0xdc00)
                        pos = pos + 6
                    end
                    out[#out + 1] = utf8(cp)
                elseif escapes[e] then
                    out[#out + 1] = escapes[e]
                    pos = pos + 2
                else
                    fail("bad escape")
                end
            else
                out[#out + 1] = c
                pos = pos + 1
            end
        end
    end
    function value()
        ws()
        local c = s:sub(pos, pos)
        if c == "{" then
            local t = {}
            pos = pos + 1
            ws()
            if s:sub(pos, pos) == "}" then pos = pos + 1 return t end
            while true do
                ws()
                if s:sub(pos, pos) ~= '"' then fail("expected a key") end
                local k = str()
                ws()
                if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
                pos = pos + 1
                t[k] = value()
                ws()
                local d = s:sub(pos, pos)
                pos = pos + 1
                if d == "}" then return t end
                if d ~= "," then fail("expected ',' or '}'") end
            end
        elseif c == "[" then
            local t = {}
            pos = pos + 1
            ws()
            if s:sub(pos, pos) == "]" then pos = pos + 1 return t end
            while true do
                t[#t + 1] = value()
                ws()
                local d = s:sub(pos, pos)
                pos = pos + 1
                if d == "]" then return t end
                if d ~= "," then fail("expected ',' or ']'") end
            end
        elseif c == '"' then
            return str()
        elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4 return true
        elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5 return false
        elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4 return json_null
        else
            local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
            if not num or num == "" then fail("unexpected character") end
            pos = pos + #num
            return tonumber(num)
        end
    end
    local v = value()
    ws()
    if pos <= #s then fail("trailing characters") end
    return v
end

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------

local tests = {}
local function test(name, fn) tests[#tests + 1] = { name = name, fn = fn } end

local function eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
    end
end

local function has(list, pred)
    for _, x in ipairs(list) do if pred(x) then return x end end
    return nil
end

local function ids(matches)
    local out = {}
    for i, m in ipairs(matches) do out[i] = m.rule_id end
    return table.concat(out, ",")
end

local tmp_files = {}
local function tmp_write(text, suffix)
    local path = os.tmpname() .. (suffix or "")
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    tmp_files[#tmp_files + 1] = path
    return path
end

local function write_config(engine, limits, rules_text)
    local rules_path = tmp_write(rules_text, ".rules")
    return tmp_write(string.format('[engine]\n%s\n[rules]\ninclude = ["%s"]\n[limits]\n%s\n',
                                   engine or "", rules_path, limits or ""), ".toml")
end

local SQLI_URI = "/item?id=1%27%20or%201%3D1--"
local XSS_JSON = '{"comment": "<script>alert(document.cookie)</script>", "rating": 5}'
local JSON_HEADERS = { { "Host", "api.example" }, { "Content-Type", "application/json" } }
local FORM_HEADERS = { { "Host", "shop.example" }, { "Content-Type", "application/x-www-form-urlencoded" } }

local DEMO_RULES = [[
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
]]

local rules = assert(rampart.default())

------------------------------------------------------------------------------
-- Library and rulesets
------------------------------------------------------------------------------

test("library loaded, ABI major 1", function()
    eq(bit.rshift(rampart.abi_version, 16), 1, "ABI major")
    assert(rampart.version:match("^%d+%.%d+%.%d+"), rampart.version)
    local env = os.getenv("RAMPART_LIBRARY")
    if env then eq(rampart.library_path, env, "library path") end
end)

test("struct layouts match the header", function()
    eq(ffi.sizeof("struct rampart_verdict"), 64, "sizeof verdict")
    eq(ffi.offsetof("struct rampart_verdict", "reserved"), 28, "verdict.reserved")
    eq(ffi.offsetof("struct rampart_match", "message"), 16, "match.message")
    eq(ffi.sizeof("struct rampart_match"), 96, "sizeof match")
end)

local function header_text()
    local f = io.open(here .. "/../../include/rampart.h", "rb")
    if not f then return nil end
    local text = f:read("*a")
    f:close()
    return (text:gsub("/%*.-%*/", ""):gsub("//[^\n]*", ""))
end

local function squash(s) return (s:gsub("%s+", " "):gsub(" ?([%(%)%*,;{}%[%]]) ?", "%1")) end

test("ffi.cdef declares every header function and struct verbatim", function()
    local header = header_text()
    if not header then print("  skip: include/rampart.h not present") return end
    local decls = squash(rampart.declarations)
    local h = squash(header:gsub("\n#[^\n]*", "\n"))
    local n = 0
    for proto in h:gmatch("[^;{}]-rampart_[%w_]+%([^;]-%);") do
        proto = proto:gsub("^%s+", "")
        assert(decls:find(proto, 1, true), "not declared: " .. proto)
        n = n + 1
    end
    eq(n, 27, "functions in the header")
    for _, name in ipairs({ "rampart_verdict", "rampart_match" }) do
        local body = h:match("typedef struct " .. name .. "{.-}" .. name .. ";")
        assert(body, name)
        assert(decls:find(body, 1, true), "struct differs: " .. name)
    end
end)

test("constants match the header's #defines", function()
    local header = header_text()
    if not header then print("  skip: include/rampart.h not present") return end
    local codes, n = rampart.codes, 0
    for group, suffix, value in header:gmatch("#define RAMPART_(%u+)_([%u_]+) (%d+)") do
        value = tonumber(value)
        local want = suffix:lower()
        if group == "LIMIT" and want ~= "none" then want = "max_" .. want end
        if want == "none" then want = false end
        if group == "PHASE" then
            eq(codes.phase[value], want, "phase " .. suffix)
            eq(rampart[suffix], value, "rampart." .. suffix)
        else
            eq(codes[group:lower()][value], want, group .. " " .. suffix)
        end
        n = n + 1
    end
    for suffix, value in header:gmatch("RAMPART_RESULT_([%u_]+) = (%d+)") do
        eq(codes.result[tonumber(value)], suffix, "result " .. suffix)
        n = n + 1
    end
    eq(n, 28, "constants")
    local major = header:match("#define RAMPART_ABI_VERSION %(%(?(%d+) << 16")
    eq(tonumber(major), bit.rshift(rampart.abi_version, 16), "ABI major")
end)

test("package-relative lookup without RAMPART_LIBRARY", function()
    local in_tree = here .. "/../../target/release/librampart.so"
    local f = io.open(in_tree, "rb")
    if not f then print("  skip: " .. in_tree .. " not built") return end
    f:close()
    local cmd = string.format("env -u RAMPART_LIBRARY luajit -e 'package.path=%q..package.path; "
        .. "io.write(require(\"rampart\").library_path)' 2>&1", here .. "/?.lua;")
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert(out:match("/target/release/librampart%.so$"), out)
end)

test("a bad RAMPART_LIBRARY is a clear error", function()
    local cmd = string.format("RAMPART_LIBRARY=/nonexistent/librampart.so luajit -e 'package.path=%q..package.path; "
        .. "require(\"rampart\")' 2>&1", here .. "/?.lua;")
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert(out:find("rampart: cannot load RAMPART_LIBRARY=/nonexistent/librampart.so", 1, true), out)
end)

test("an ABI major mismatch is refused", function()
    local function sh(cmd) local r = os.execute(cmd) return r == 0 or r == true end -- 5.1 and 5.2 styles
    if not sh("command -v cc >/dev/null 2>&1") then print("  skip: no C compiler") return end
    local src = tmp_write("unsigned rampart_abi_version(void) { return 2u << 16 | 3u; }\n", ".c")
    local so = src:gsub("%.c$", ".so")
    tmp_files[#tmp_files + 1] = so
    assert(sh(string.format("cc -shared -fPIC -o %q %q", so, src)), "cc failed")
    local cmd = string.format("RAMPART_LIBRARY=%q luajit -e 'package.path=%q..package.path; require(\"rampart\")' 2>&1",
                              so, here .. "/?.lua;")
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert(out:find("has ABI version 2.3, but these bindings need ABI major version 1", 1, true), out)
end)

test("default ruleset has rules", function()
    assert(rules.rule_count > 10, rules.rule_count)
end)

test("compile custom rules", function()
    local rs = assert(rampart.compile(DEMO_RULES))
    eq(rs.rule_count, 2, "rule count")
    local v, matches = rampart.inspect(rs, "GET", "/teapot", { { "Host", "x" } })
    eq(v.action, "block", "action")
    eq(v.status, 418, "status")
    eq(ids(matches), "1001", "matches")
    eq(matches[1].field, "", "field")
    eq(matches[1].snippet, "", "snippet")
    eq(matches[1].severity, nil, "severity")
    rs:free()
    rs:free()
end)

test("compile error carries its place", function()
    local text = 'rule 1 "x" {\n    severity critical\n    inspect args\n    transform url_decod\n'
        .. '    match contains "a"\n}\n'
    local rs, err = rampart.compile(text)
    eq(rs, nil, "ruleset")
    eq(err.file, "<inline>", "file")
    eq(err.line, 4, "line")
    eq(err.column, 15, "column")
    eq(err.kind, "rule", "kind")
    eq(err.code, "RULE_ERROR", "code")
    assert(err.message:find("<inline>:4:15: error: unknown transform `url_decod`", 1, true), err.message)
    assert(tostring(err):find("did you mean `url_decode`", 1, true))
end)

test("compile reports every error and locates the first", function()
    local _, err = rampart.compile('rule 1 "a" {\n  severity bogus\n}\nrule 2 "b" {\n  severity critical\n  frobnicate\n}\n')
    eq(err.line, 2, "line")
    eq(err.column, 12, "column")
    local n = select(2, err.message:gsub(": error: ", ""))
    assert(n >= 2, err.message)
end)

test("compile rejects text that is not UTF-8", function()
    local _, err = rampart.compile('rule 1 "\255" { action deny }')
    eq(err.code, "INVALID_ARGUMENT", "code")
    assert(err.message:find("not UTF-8", 1, true), err.message)
end)

test("wrong argument types raise", function()
    assert(not pcall(rampart.compile, 42))
    assert(not pcall(rampart.load, nil))
    local tx = rules:transaction()
    assert(not pcall(tx.set_request, tx, "GET", 5))
    assert(not pcall(tx.evaluate, tx, {}))
    tx:free()
end)

test("load: missing file is an io error", function()
    local missing = "/nonexistent-dir/rampart.toml"
    local rs, err = rampart.load(missing)
    eq(rs, nil, "ruleset")
    eq(err.kind, "io", "kind")
    eq(err.code, "IO", "code")
    eq(err.file, missing, "file")
    assert(err.message:find("No such file", 1, true), err.message)
end)

test("load: bad config is a rule error with its place", function()
    local config = tmp_write('[engine]\nmode = "block"\nparanoya = 2\n', ".toml")
    local _, err = rampart.load(config)
    eq(err.kind, "rule", "kind")
    eq(err.file, config, "file")
    eq(err.line, 3, "line")
    eq(err.column, 1, "column")
    assert(err.message:find("unknown field `paranoya`", 1, true), err.message)
end)

test("load: bad rule file is named", function()
    local config = write_config(nil, nil, 'rule 5 "x" {\n  action deny\n  when path = "/"\n}\n')
    local _, err = rampart.load(config)
    eq(err.kind, "rule", "kind")
    assert(err.file:match("%.rules$"), err.file)
    eq(err.line, 3, "line")
end)

test("load: empty path", function()
    local rs, err = rampart.load("")
    eq(rs, nil, "ruleset")
    eq(err.code, "INVALID_ARGUMENT", "code")
end)

test("load: the repository config equals the default", function()
    local config = here .. "/../../rules/rampart.toml"
    local f = io.open(config, "rb")
    if not f then print("  skip: " .. config .. " not present") return end
    f:close()
    local rs = assert(rampart.load(config))
    eq(rs.rule_count, rules.rule_count, "rule count")
end)

------------------------------------------------------------------------------
-- Verdicts and matches
------------------------------------------------------------------------------

test("SQLi in the query blocks before the body", function()
    local tx = rules:transaction()
    assert(tx:set_request("GET", SQLI_URI))
    assert(tx:add_header("Host", "shop.example"))
    local v = assert(tx:evaluate(rampart.REQUEST_HEADERS))
    eq(v.action, "block", "action")
    eq(v.blocked, true, "blocked")
    eq(v.status, 403, "status")
    eq(v.would_block, true, "would_block")
    assert(v.score >= 5, v.score)
    eq(v.phase, "request_headers", "phase")
    eq(v.limit, nil, "limit")
    local matches = tx:matches()
    eq(v.match_count, #matches, "match_count")
    local m = has(matches, function(x) return x.rule_id >= 942000 and x.rule_id < 943000 end)
    assert(m, ids(matches))
    eq(m.severity, "critical", "severity")
    eq(m.phase, "request_headers", "match phase")
    eq(m.field, 'args["id"]', "field")
    assert(m.snippet:find("or 1=1", 1, true), m.snippet)
    assert(m.message:find("SQL injection", 1, true), m.message)
    assert(type(m.offset) == "number" and m.offset >= 0)
    tx:free()
end)

test("XSS in a JSON body blocks in the body phase", function()
    local tx = rules:transaction()
    tx:set_request("POST", "/api/comments")
    tx:add_headers(JSON_HEADERS)
    eq(tx:evaluate("request_headers").action, "allow", "headers phase")
    tx:append_body(XSS_JSON)
    local v = tx:evaluate(rampart.REQUEST_BODY)
    eq(v.action, "block", "action")
    eq(v.status, 403, "status")
    eq(v.phase, "request_body", "phase")
    local m = has(tx:matches(), function(x) return x.rule_id >= 941000 and x.rule_id < 942000 end)
    assert(m)
    eq(m.phase, "request_body", "match phase")
    eq(m.field, 'args["comment"]', "field")
    assert(m.snippet:find("<script>", 1, true))
    tx:free()
end)

test("path traversal blocks", function()
    for _, uri in ipairs({ "/download?file=../../../../etc/passwd", "/static/..%2f..%2f..%2fetc/passwd",
                           "/a/../../etc/shadow" }) do
        local v, matches = rampart.inspect(rules, "GET", uri, { { "Host", "shop.example" } })
        eq(v.action, "block", uri)
        assert(has(matches, function(x) return x.rule_id >= 930000 and x.rule_id < 931000 end), uri)
    end
end)

test("benign requests pass", function()
    local cases = {
        { "GET", "/products?category=shoes&sort=price&page=2", { { "Host", "shop.example" } }, "" },
        { "GET", "/search?q=select+a+gift+for+O%27Brien", { { "Host", "shop.example" } }, "" },
        { "PUT", "/api/v1/users/42", JSON_HEADERS,
          '{"name": "Ada O\'Brien", "bio": "I love SQL and union workers.", "tags": ["admin", "editor"]}' },
        { "POST", "/login", FORM_HEADERS, "user=alice%40example.com&password=c0rrect%20horse&remember=1" },
    }
    for _, c in ipairs(cases) do
        local v, matches = rampart.inspect(rules, c[1], c[2], c[3], c[4], "203.0.113.7")
        eq(v.action, "allow", c[1] .. " " .. c[2] .. " (" .. ids(matches) .. ")")
        eq(v.status, 0, "status")
        eq(v.score, 0, "score")
        eq(v.match_count, 0, "match_count")
        eq(v.would_block, false, "would_block")
        eq(v.blocked, false, "blocked")
        eq(v.phase, "request_body", "phase")
        eq(#matches, 0, "matches")
    end
end)

test("headers as a map (ngx.req.get_headers shape)", function()
    local v, matches = rampart.inspect(rules, "GET", "/", { host = "shop.example",
        ["user-agent"] = { "Mozilla/5.0", "sqlmap/1.7.2#stable" } })
    eq(v.action, "block", "action")
    assert(has(matches, function(x) return x.field:lower() == 'headers["user-agent"]' end), ids(matches))
end)

test("body in chunks", function()
    local tx = rules:transaction()
    tx:set_request("POST", "/api/comments")
    tx:add_headers(JSON_HEADERS)
    for i = 1, #XSS_JSON, 7 do -- splits "<script>" across chunks
        assert(tx:append_body(XSS_JSON:sub(i, i + 6)))
    end
    eq(tx:evaluate(rampart.REQUEST_BODY).action, "block", "action")
    assert(has(tx:matches(), function(x) return x.field == 'args["comment"]' end))
    tx:free()
end)

test("bodies with NUL bytes are passed whole", function()
    local tx = rules:transaction()
    tx:set_request("POST", "/login")
    tx:add_headers(FORM_HEADERS)
    tx:append_body("a=\0&user=admin%27%20or%201%3D1--")
    eq(tx:evaluate(rampart.REQUEST_BODY).action, "block", "action")
    tx:free()
end)

test("unknown phase is INVALID_ARGUMENT", function()
    local tx = rules:transaction()
    local v, err = tx:evaluate(7)
    eq(v, nil, "verdict")
    eq(err, "INVALID_ARGUMENT", "error")
    tx:free()
end)

test("limits reject oversized bodies", function()
    local rs = assert(rampart.load(write_config(nil, "max_body_bytes = 16", DEMO_RULES)))
    local v = rampart.inspect(rs, "POST", "/form", FORM_HEADERS, "a=" .. string.rep("b", 64))
    eq(v.action, "block", "action")
    eq(v.status, 413, "status")
    eq(v.limit, "max_body_bytes", "limit")
end)

------------------------------------------------------------------------------
-- Audit events
------------------------------------------------------------------------------

test("audit JSON", function()
    local tx = rules:transaction()
    tx:set_client("203.0.113.7")
    tx:set_request_id("req-42")
    tx:set_request("GET", SQLI_URI)
    tx:add_header("Host", "shop.example")
    tx:evaluate(rampart.REQUEST_HEADERS)
    local line = tx:audit_json()
    assert(not line:find("\n", 1, true), "no newline")
    local event = json_decode(line)
    for _, key in ipairs({ "time", "request_id", "client", "method", "uri", "protocol", "host", "action",
                           "status", "would_block", "score", "phase", "mode", "limit", "body_error",
                           "matches" }) do
        assert(event[key] ~= nil, "missing key " .. key)
    end
    eq(event.request_id, "req-42", "request_id")
    eq(event.client, "203.0.113.7", "client")
    eq(event.method, "GET", "method")
    eq(event.uri, SQLI_URI, "uri")
    eq(event.host, "shop.example", "host")
    eq(event.action, "block", "action")
    eq(event.status, 403, "status")
    eq(event.mode, "block", "mode")
    eq(event.phase, "request_headers", "phase")
    eq(event.limit, json_null, "limit")
    local event_ids = {}
    for i, m in ipairs(event.matches) do event_ids[i] = m.id end
    eq(table.concat(event_ids, ","), ids(tx:matches()), "match ids")
    for _, key in ipairs({ "id", "message", "severity", "tags", "field", "offset", "snippet", "phase" }) do
        assert(event.matches[1][key] ~= nil, "missing match key " .. key)
    end
    tx:free()
end)

test("audit JSON escapes raw bytes; long events grow the buffer", function()
    local tx = rules:transaction()
    tx:set_request("GET", "/x?q=\255\0", "HTTP/1.1")
    tx:add_header("Host", "h")
    tx:evaluate(rampart.REQUEST_BODY)
    eq(json_decode(tx:audit_json()).uri, "/x?q=\\xff\\x00", "uri")
    tx:reset()
    local long = "/" .. string.rep("a", 5000)
    tx:set_request("GET", long)
    tx:evaluate(rampart.REQUEST_BODY)
    eq(json_decode(tx:audit_json()).uri, long, "long uri")
    tx:free()
end)

------------------------------------------------------------------------------
-- Life cycle
------------------------------------------------------------------------------

test("reset reuses the transaction", function()
    local tx = rules:transaction()
    tx:set_request("GET", SQLI_URI)
    tx:add_header("Host", "shop.example")
    eq(tx:evaluate(rampart.REQUEST_HEADERS).action, "block", "attack")
    local old = tx:matches()
    tx:reset()
    eq(#tx:matches(), 0, "matches after reset")
    assert(#old > 0 and #old[1].message > 0, "copies survive the reset")
    for _ = 1, 3 do
        tx:set_request("GET", "/products?page=2")
        tx:add_header("Host", "shop.example")
        local v = tx:evaluate(rampart.REQUEST_BODY)
        eq(v.action, "allow", "benign")
        eq(v.score, 0, "score")
        tx:reset()
    end
    tx:free()
end)

test("reset_with moves to another ruleset", function()
    local tx = rules:transaction()
    local demo = assert(rampart.compile(DEMO_RULES))
    assert(tx:reset_with(demo))
    demo:free() -- the transaction holds its own reference
    tx:set_request("GET", "/teapot")
    eq(tx:evaluate(rampart.REQUEST_HEADERS).status, 418, "status")
    assert(not pcall(tx.reset_with, tx, demo), "freed ruleset refused")
    tx:free()
end)

test("detect mode logs what would block", function()
    local rs = assert(rampart.load(write_config('mode = "detect"', nil, DEMO_RULES)))
    local v, matches = rampart.inspect(rs, "GET", "/search?q=ATTACK", { { "Host", "x" } })
    eq(v.action, "log", "action")
    eq(v.blocked, false, "blocked")
    eq(v.would_block, true, "would_block")
    eq(v.status, 403, "status")
    eq(ids(matches), "1000", "matches")
    eq(matches[1].snippet, "attack", "snippet (transformed)")
    local tx = rs:transaction()
    tx:set_request("GET", "/?q=attack")
    tx:evaluate(rampart.REQUEST_BODY)
    local event = json_decode(tx:audit_json())
    eq(event.mode, "detect", "mode")
    eq(event.action, "log", "audit action")
    eq(event.would_block, true, "audit would_block")
    tx:free()
end)

test("free is idempotent and freed handles refuse use", function()
    local tx = rules:transaction()
    tx:free()
    tx:free()
    assert(not pcall(tx.set_request, tx, "GET", "/"))
    assert(not pcall(tx.matches, tx))
    local rs = assert(rampart.compile(DEMO_RULES))
    rs:free()
    assert(not pcall(rs.transaction, rs))
end)

test("a transaction outlives its ruleset", function()
    local rs = assert(rampart.compile(DEMO_RULES))
    local tx = rs:transaction()
    rs = nil
    collectgarbage()
    collectgarbage()
    tx:set_request("GET", "/teapot")
    eq(tx:evaluate(rampart.REQUEST_BODY).status, 418, "status")
end)

test("unfreed handles are released by the garbage collector", function()
    for _ = 1, 200 do
        local rs = assert(rampart.compile(DEMO_RULES))
        local tx = rs:transaction()
        tx:set_request("GET", "/teapot")
        tx:evaluate(rampart.REQUEST_HEADERS)
    end
    collectgarbage()
    collectgarbage()
end)

------------------------------------------------------------------------------
-- Run
------------------------------------------------------------------------------

local passed, failed, skipped = 0, 0, 0
for _, t in ipairs(tests) do
    if filter and not t.name:find(filter, 1, true) then
        skipped = skipped + 1
    else
        local ok, err = xpcall(t.fn, debug.traceback)
        if ok then
            passed = passed + 1
            if verbose then print("ok   " .. t.name) end
        else
            failed = failed + 1
            print("FAIL " .. t.name .. "\n" .. tostring(err))
        end
    end
end
for _, path in ipairs(tmp_files) do os.remove(path) end
-- os.tmpname() creates the base names too.
for _, path in ipairs(tmp_files) do os.remove((path:gsub("%.[a-z]+$", ""))) end
print(string.format("%d passed, %d failed%s", passed, failed, skipped > 0 and (", " .. skipped .. " deselected") or ""))
os.exit(failed == 0 and passed > 0 and 0 or 1)
