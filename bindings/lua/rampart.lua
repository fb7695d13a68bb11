-- rampart: LuaJIT FFI bindings for the rampart web application firewall engine.
--
--   local rampart = require "rampart"
--   local rules = assert(rampart.default())          -- or rampart.load("/etc/rampart/rampart.toml")
--   local tx = rules:transaction()                   -- one per request; tx:reset() to reuse
--   tx:set_request("GET", "/item?id=1%27%20or%201%3D1--")
--   tx:add_header("Host", "shop.example")
--   local v = assert(tx:evaluate(rampart.REQUEST_HEADERS))
--   if v.blocked then return ngx.exit(v.status) end
--
-- Works in OpenResty / lua-nginx-module and in plain LuaJIT 2.1. The library is
-- found through RAMPART_LIBRARY (a path to librampart.so), else the build in the
-- source tree this file sits in (../../target/release/librampart.so), else
-- ffi.load("rampart") (the system loader path). See README.md.
--
-- Errors: functions that can fail for reasons outside the caller's control
-- return nil plus an error (compile/load: a table; transaction calls: a string
-- naming the result code, e.g. "POISONED"). Misuse (wrong types, a freed handle)
-- raises a Lua error.

local ffi = require "ffi"

local C_DECLARATIONS = [[
enum rampart_result {
  RAMPART_RESULT_OK = 0,
  RAMPART_RESULT_NULL_ARGUMENT = 1,
  RAMPART_RESULT_INVALID_ARGUMENT = 2,
  RAMPART_RESULT_RULE_ERROR = 3,
  RAMPART_RESULT_LIMIT_EXCEEDED = 4,
  RAMPART_RESULT_BUFFER_TOO_SMALL = 5,
  RAMPART_RESULT_PANIC = 6,
  RAMPART_RESULT_POISONED = 7,
  RAMPART_RESULT_IO = 8,
  RAMPART_RESULT_TOO_LATE = 9,
};
typedef uint32_t rampart_result;

typedef struct rampart_error rampart_error;
typedef struct rampart_ruleset rampart_ruleset;
typedef struct rampart_tx rampart_tx;
typedef uint32_t rampart_phase;
typedef uint32_t rampart_action;
typedef uint32_t rampart_limit;

typedef struct rampart_verdict {
  rampart_action action;
  uint32_t status;
  uint32_t score;
  uint32_t match_count;
  rampart_phase phase;
  rampart_limit limit;
  uint32_t would_block;
  uint32_t reserved[9];
} rampart_verdict;

typedef uint32_t rampart_severity;

typedef struct rampart_match {
  uint32_t rule_id;
  rampart_severity severity;
  rampart_phase phase;
  uint32_t offset;
  const char *message;
  size_t message_len;
  const char *field;
  size_t field_len;
  const uint8_t *snippet;
  size_t snippet_len;
  size_t reserved[4];
} rampart_match;

uint32_t rampart_abi_version(void);
const char *rampart_version(void);
rampart_result rampart_ruleset_default(struct rampart_ruleset **out);
rampart_result rampart_ruleset_compile(const char *rules,
                                       size_t len,
                                       struct rampart_ruleset **out,
                                       struct rampart_error **err);
rampart_result rampart_ruleset_load(const char *config_path,
                                    size_t len,
                                    struct rampart_ruleset **out,
                                    struct rampart_error **err);
struct rampart_ruleset *rampart_ruleset_retain(struct rampart_ruleset *ruleset);
void rampart_ruleset_release(struct rampart_ruleset *ruleset);
size_t rampart_ruleset_rule_count(const struct rampart_ruleset *ruleset);
const char *rampart_error_message(const struct rampart_error *err);
const char *rampart_error_file(const struct rampart_error *err);
uint32_t rampart_error_line(const struct rampart_error *err);
uint32_t rampart_error_column(const struct rampart_error *err);
void rampart_error_free(struct rampart_error *err);
struct rampart_tx *rampart_tx_new(struct rampart_ruleset *ruleset);
void rampart_tx_free(struct rampart_tx *tx);
void rampart_tx_reset(struct rampart_tx *tx);
rampart_result rampart_tx_reset_with(struct rampart_tx *tx, struct rampart_ruleset *ruleset);
rampart_result rampart_tx_set_request(struct rampart_tx *tx,
                                      const char *method,
                                      size_t method_len,
                                      const char *uri,
                                      size_t uri_len,
                                      const char *protocol,
                                      size_t protocol_len);
rampart_result rampart_tx_set_client(struct rampart_tx *tx, const char *ip, size_t len);
rampart_result rampart_tx_set_scheme(struct rampart_tx *tx, const char *scheme, size_t len);
rampart_result rampart_tx_set_request_id(struct rampart_tx *tx, const char *id, size_t len);
rampart_result rampart_tx_add_header(struct rampart_tx *tx,
                                     const char *name,
                                     size_t name_len,
                                     const char *value,
                                     size_t value_len);
rampart_result rampart_tx_append_body(struct rampart_tx *tx, const uint8_t *data, size_t len);
rampart_result rampart_tx_evaluate(struct rampart_tx *tx,
                                   rampart_phase phase,
                                   struct rampart_verdict *out);
size_t rampart_tx_match_count(const struct rampart_tx *tx);
rampart_result rampart_tx_match(const struct rampart_tx *tx,
                                size_t index,
                                struct rampart_match *out);
size_t rampart_tx_audit_json(const struct rampart_tx *tx, char *buf, size_t cap);
]]

-- The header's #defines (ffi.cdef takes no preprocessor lines).
local ABI_VERSION = 0x10000 -- RAMPART_ABI_VERSION (1 << 16)
local RESULT = { [0] = "OK", "NULL_ARGUMENT", "INVALID_ARGUMENT", "RULE_ERROR", "LIMIT_EXCEEDED",
                 "BUFFER_TOO_SMALL", "PANIC", "POISONED", "IO", "TOO_LATE" }
local RESULT_OK, RESULT_IO = 0, 8
local PHASE = { [0] = "request_headers", "request_body" }                    -- RAMPART_PHASE_*
local ACTION = { [0] = "allow", "block", "log" }                              -- RAMPART_ACTION_*
local SEVERITY = { [0] = false, "critical", "error", "warning", "notice" }    -- RAMPART_SEVERITY_*
local LIMIT = { [0] = false, "max_body_bytes", "max_args", "max_headers", "max_header_bytes",
                "max_uri_bytes", "max_json_depth", "max_multipart_parts" } -- RAMPART_LIMIT_*

-- Declare once per Lua VM, even if another copy of this file was loaded first.
if not pcall(ffi.typeof, "struct rampart_verdict") then
    ffi.cdef(C_DECLARATIONS)
end

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then f:close() return true end
    return false
end

local function load_library()
    local env = os.getenv("RAMPART_LIBRARY")
    if env and env ~= "" then
        local ok, lib = pcall(ffi.load, env)
        if not ok then
            error("rampart: cannot load RAMPART_LIBRARY=" .. env .. ": " .. tostring(lib), 0)
        end
        return lib, env
    end
    local tried = {}
    local source = debug.getinfo(1, "S").source
    if source:sub(1, 1) == "@" then
        local dir = source:sub(2):match("^(.*)/[^/]*$") or "."
        local in_tree = dir .. "/../../target/release/librampart.so"
        if file_exists(in_tree) then
            local ok, lib = pcall(ffi.load, in_tree)
            if ok then return lib, in_tree end
            tried[#tried + 1] = in_tree .. " (" .. tostring(lib) .. ")"
        else
            tried[#tried + 1] = in_tree .. " (not found)"
        end
    end
    local ok, lib = pcall(ffi.load, "rampart")
    if ok then return lib, "rampart" end
    tried[#tried + 1] = 'ffi.load("rampart") (' .. tostring(lib) .. ")"
    error("rampart: cannot find librampart.so; tried " .. table.concat(tried, ", ")
          .. ". Build it with `cargo build --release --lib`, or set RAMPART_LIBRARY"
          .. " (in nginx: `env RAMPART_LIBRARY;` in the main context).", 0)
end

local C, library_path = load_library()

local abi = C.rampart_abi_version()
if bit.rshift(abi, 16) ~= bit.rshift(ABI_VERSION, 16) then
    error(string.format("rampart: %s has ABI version %d.%d, but these bindings need ABI major version %d;"
        .. " use bindings from the same rampart release as the library (or rebuild the library)",
        library_path, bit.rshift(abi, 16), bit.band(abi, 0xffff), bit.rshift(ABI_VERSION, 16)), 0)
end

local _M = {
    _VERSION = "0.1.0",
    version = ffi.string(C.rampart_version()),
    abi_version = abi,
    library_path = library_path,
    C = C, -- the raw library namespace, for what this module does not wrap
    declarations = C_DECLARATIONS, -- what was given to ffi.cdef
    -- Numeric codes of the C API -> the names this module uses (false: none).
    codes = { result = RESULT, phase = PHASE, action = ACTION, severity = SEVERITY, limit = LIMIT },
    REQUEST_HEADERS = 0, -- RAMPART_PHASE_REQUEST_HEADERS
    REQUEST_BODY = 1,    -- RAMPART_PHASE_REQUEST_BODY
}

-- Scratch cdata reused by every call (a Lua VM is single-threaded and none of
-- these calls yields), so a request allocates no cdata but its handle.
local ruleset_out = ffi.new("struct rampart_ruleset *[1]")
local error_out = ffi.new("struct rampart_error *[1]")
local verdict_out = ffi.new("struct rampart_verdict")
local match_out = ffi.new("struct rampart_match")
local audit_buf, audit_cap = nil, 0

local function result_name(code)
    return RESULT[code] or tostring(code)
end

local function name_of(names, code)
    local name = names[code]
    if name == nil then return code end -- a code added by a newer minor ABI
    return name or nil                   -- false marks "none"
end

-- Strings: Lua strings as they are (any bytes); numbers are refused so that a
-- mistake does not turn into "123".
local function str(value, what)
    if type(value) ~= "string" then
        error("rampart: " .. what .. " must be a string, not " .. type(value), 3)
    end
    return value
end

------------------------------------------------------------------------------
-- Rulesets
------------------------------------------------------------------------------

local Ruleset = {}
Ruleset.__index = Ruleset

local function new_ruleset(ptr)
    local self = setmetatable({ ptr = ffi.gc(ptr, C.rampart_ruleset_release) }, Ruleset)
    self.rule_count = tonumber(C.rampart_ruleset_rule_count(ptr))
    return self
end

-- The error table for a failed compile or load; frees the error.
local function error_table(code, err)
    local e = { code = result_name(code), message = result_name(code), file = "", line = 0, column = 0 }
    if err ~= nil then
        local msg, file = C.rampart_error_message(err), C.rampart_error_file(err)
        e.message = msg ~= nil and ffi.string(msg):gsub("\n+$", "") or e.message
        e.file = file ~= nil and ffi.string(file) or ""
        e.line = C.rampart_error_line(err)
        e.column = C.rampart_error_column(err)
        C.rampart_error_free(err)
    end
    e.kind = code == RESULT_IO and "io" or "rule"
    return setmetatable(e, { __tostring = function(t) return t.message end })
end

--- The built-in default rule set. Returns a ruleset, or nil and an error table.
function _M.default()
    local code = C.rampart_ruleset_default(ruleset_out)
    if code ~= RESULT_OK then return nil, error_table(code, nil) end
    return new_ruleset(ruleset_out[0])
end

--- Compiles rule text (errors name it "<inline>"). Returns a ruleset, or nil
--- and an error table {message, file, line, column, code, kind = "rule"}.
function _M.compile(text)
    str(text, "rule text")
    error_out[0] = nil
    local code = C.rampart_ruleset_compile(text, #text, ruleset_out, error_out)
    if code ~= RESULT_OK then return nil, error_table(code, error_out[0]) end
    return new_ruleset(ruleset_out[0])
end

--- Loads an engine config (rampart.toml) and the rule files it includes.
--- Returns a ruleset, or nil and an error table; kind is "io" when a file
--- cannot be read, "rule" when a config or rule file is wrong.
function _M.load(config_path)
    str(config_path, "config path")
    error_out[0] = nil
    local code = C.rampart_ruleset_load(config_path, #config_path, ruleset_out, error_out)
    if code ~= RESULT_OK then return nil, error_table(code, error_out[0]) end
    return new_ruleset(ruleset_out[0])
end

local function ruleset_ptr(rs)
    if getmetatable(rs) ~= Ruleset then error("rampart: expected a ruleset", 3) end
    if rs.ptr == nil then error("rampart: ruleset is freed", 3) end
    return rs.ptr
end

--- Releases this reference now instead of at garbage collection (idempotent).
--- Transactions made from the ruleset keep their own reference.
function Ruleset:free()
    local ptr = self.ptr
    if ptr ~= nil then
        self.ptr = nil
        ffi.gc(ptr, nil)
        C.rampart_ruleset_release(ptr)
    end
end

------------------------------------------------------------------------------
-- Transactions
------------------------------------------------------------------------------

local Tx = {}
Tx.__index = Tx

--- A new transaction on this ruleset: one request at a time; reuse it with
--- tx:reset(). Freed by the garbage collector, or now with tx:free().
function Ruleset:transaction()
    local ptr = C.rampart_tx_new(ruleset_ptr(self))
    if ptr == nil then error("rampart: rampart_tx_new failed", 2) end
    return setmetatable({ ptr = ffi.gc(ptr, C.rampart_tx_free) }, Tx)
end

local function tx_ptr(tx)
    local ptr = tx.ptr
    if ptr == nil then error("rampart: transaction is freed", 3) end
    return ptr
end

local function status(code)
    if code == RESULT_OK then return true end
    return nil, result_name(code)
end

--- Sets the request line: method, request target as received ("/path?query"),
--- protocol (default "HTTP/1.1"; "" for HTTP/0.9).
function Tx:set_request(method, uri, protocol)
    protocol = protocol or "HTTP/1.1"
    str(method, "method"); str(uri, "uri"); str(protocol, "protocol")
    return status(C.rampart_tx_set_request(tx_ptr(self), method, #method, uri, #uri, protocol, #protocol))
end

--- Sets the client address as text ("203.0.113.7", "2001:db8::1").
function Tx:set_client(ip)
    str(ip, "ip")
    return status(C.rampart_tx_set_client(tx_ptr(self), ip, #ip))
end

--- Sets the scheme the request arrived with ("http" or "https").
function Tx:set_scheme(scheme)
    str(scheme, "scheme")
    return status(C.rampart_tx_set_scheme(tx_ptr(self), scheme, #scheme))
end

--- Sets the request id written in the audit event (64 bytes kept).
function Tx:set_request_id(id)
    str(id, "request id")
    return status(C.rampart_tx_set_request_id(tx_ptr(self), id, #id))
end

--- Adds a request header (in order; duplicates kept).
function Tx:add_header(name, value)
    str(name, "header name"); str(value, "header value")
    return status(C.rampart_tx_add_header(tx_ptr(self), name, #name, value, #value))
end

--- Adds headers from a list of {name, value} pairs, or from a table
--- name -> value | {value, ...} (the shape of ngx.req.get_headers()).
function Tx:add_headers(headers)
    local ok, err = true, nil
    if headers[1] ~= nil then
        for _, pair in ipairs(headers) do
            ok, err = self:add_header(pair[1], pair[2])
            if not ok then return nil, err end
        end
        return true
    end
    for name, value in pairs(headers) do
        if type(value) == "table" then
            for _, v in ipairs(value) do
                ok, err = self:add_header(name, v)
                if not ok then return nil, err end
            end
        else
            ok, err = self:add_header(name, value)
            if not ok then return nil, err end
        end
    end
    return true
end

--- Appends a chunk of the request body.
function Tx:append_body(chunk)
    str(chunk, "body chunk")
    return status(C.rampart_tx_append_body(tx_ptr(self), chunk, #chunk))
end

--- Evaluates up to `phase` (rampart.REQUEST_HEADERS / REQUEST_BODY, or the
--- strings "request_headers" / "request_body"). Returns a verdict table
--- {action = "allow"|"block"|"log", blocked, status, score, match_count,
--- would_block, phase, limit (nil, or e.g. "max_body_bytes")}, or nil and an
--- error string.
function Tx:evaluate(phase)
    if phase == "request_headers" then phase = 0 elseif phase == "request_body" then phase = 1 end
    if type(phase) ~= "number" then error("rampart: phase must be rampart.REQUEST_HEADERS or REQUEST_BODY", 2) end
    local code = C.rampart_tx_evaluate(tx_ptr(self), phase, verdict_out)
    if code ~= RESULT_OK then return nil, result_name(code) end
    local v = verdict_out
    return {
        action = name_of(ACTION, v.action),
        blocked = v.action == 1,
        status = v.status,
        score = v.score,
        match_count = v.match_count,
        would_block = v.would_block ~= 0,
        phase = name_of(PHASE, v.phase),
        limit = name_of(LIMIT, v.limit),
    }
end

--- The matched rules so far, in decision order: a list of tables {rule_id,
--- severity ("critical"..."notice", nil for none), phase, offset, message,
--- field, snippet} (strings copied out of the transaction).
function Tx:matches()
    local ptr = tx_ptr(self)
    local list = {}
    for i = 0, tonumber(C.rampart_tx_match_count(ptr)) - 1 do
        local code = C.rampart_tx_match(ptr, i, match_out)
        if code ~= RESULT_OK then return nil, result_name(code) end
        local m = match_out
        list[#list + 1] = {
            rule_id = m.rule_id,
            severity = name_of(SEVERITY, m.severity),
            phase = name_of(PHASE, m.phase),
            offset = m.offset,
            message = m.message_len > 0 and ffi.string(m.message, m.message_len) or "",
            field = m.field_len > 0 and ffi.string(m.field, m.field_len) or "",
            snippet = m.snippet_len > 0 and ffi.string(m.snippet, m.snippet_len) or "",
        }
    end
    return list
end

--- The audit event: one JSON object, without the trailing newline.
function Tx:audit_json()
    local ptr = tx_ptr(self)
    local n = tonumber(C.rampart_tx_audit_json(ptr, nil, 0))
    while true do
        if n >= audit_cap then
            audit_cap = math.max(n + 1, 2 * audit_cap, 1024)
            audit_buf = ffi.new("char[?]", audit_cap)
        end
        local got = tonumber(C.rampart_tx_audit_json(ptr, audit_buf, audit_cap))
        if got <= audit_cap then
            n = got
            break
        end
        n = got -- the event grew between the two calls
    end
    if n > 0 and audit_buf[n - 1] == 10 then n = n - 1 end
    return ffi.string(audit_buf, n)
end

--- Forgets the request (keeping memory) to take the next one.
function Tx:reset()
    C.rampart_tx_reset(tx_ptr(self))
end

--- Like reset, moving to another ruleset (after a reload).
function Tx:reset_with(ruleset)
    local rs = ruleset_ptr(ruleset)
    return status(C.rampart_tx_reset_with(tx_ptr(self), rs))
end

--- Frees the transaction now instead of at garbage collection (idempotent).
function Tx:free()
    local ptr = self.ptr
    if ptr ~= nil then
        self.ptr = nil
        ffi.gc(ptr, nil)
        C.rampart_tx_free(ptr)
    end
end

--- Evaluates one whole request as a host would: request line and headers,
--- then (unless that blocks) the body. `headers` as for tx:add_headers.
--- Returns verdict, matches (or nil, err).
function _M.inspect(ruleset, method, uri, headers, body, client)
    local tx = ruleset:transaction()
    if client then tx:set_client(client) end
    tx:set_request(method, uri)
    if headers then tx:add_headers(headers) end
    local v, err = tx:evaluate(0)
    if v and not v.blocked then
        if body and #body > 0 then tx:append_body(body) end
        v, err = tx:evaluate(1)
    end
    local matches = v and tx:matches()
    tx:free()
    if not v then return nil, err end
    return v, matches
end

_M.Ruleset = Ruleset
_M.Transaction = Tx
return _M
