-- rampart_waf.lua: rampart in nginx through lua-nginx-module (OpenResty, or
-- Debian's libnginx-mod-http-lua), on top of the LuaJIT FFI binding
-- bindings/lua/rampart.lua. No compiled module needed. The same behaviour as
-- the C module (ngx_http_rampart_module): block with the verdict's status,
-- per-location detect mode, one audit JSON line per flagged request, the
-- whole body inspected (memory or temp file).
--
--   env RAMPART_LIBRARY;                       # path to librampart.so (or put it on the loader path)
--   http {
--       lua_package_path "/opt/rampart/lua/?.lua;;";   # rampart.lua and this file
--       rewrite_by_lua_no_postpone on;                  # run before `return` / `rewrite`
--       init_by_lua_block {
--           require("rampart_waf").init {
--               config    = "/etc/rampart/rampart.toml", -- nil: the built-in rules
--               audit_log = "/var/log/nginx/rampart-audit.log", -- nil: none
--           }
--       }
--       server {
--           rewrite_by_lua_block { require("rampart_waf").check() }
--           location /beta/ {
--               rewrite_by_lua_block { require("rampart_waf").check { mode = "detect" } }
--           }
--       }
--   }
--
-- Rules compile once, in init_by_lua (the master), and every worker shares the
-- compiled ruleset through fork(), as with the C module. A reload runs
-- init_by_lua again: a broken rule file makes it raise, so the reload fails
-- with the file:line:col message and the old workers keep the old rules.

local rampart = require "rampart"

local ngx = ngx
local find, sub = string.find, string.sub

local _M = { _VERSION = "0.1.0" }

local rules            -- the compiled ruleset (set in the master, inherited by workers)
local named = {}       -- more rulesets by name, for check { ruleset = NAME }
local audit_file       -- the audit log, opened in the master, inherited by workers
local default_mode     -- "block", "detect" or nil (the config's mode)

local CHUNK = 65536    -- temp-file body read size

local function check_mode(mode, what)
    if mode ~= nil and mode ~= "block" and mode ~= "detect" then
        error("rampart_waf: " .. what .. " must be \"block\" or \"detect\", not " .. tostring(mode), 3)
    end
    return mode
end

local function load(path)
    local rs, err
    if path then
        rs, err = rampart.load(path)
    else
        rs, err = rampart.default()
    end
    if not rs then
        error("rampart_waf: cannot load " .. (path or "the built-in rules") .. ": " .. tostring(err), 3)
    end
    if ngx and ngx.log then
        ngx.log(ngx.NOTICE, "rampart ", rampart.version, ": ", rs.rule_count, " rules loaded from ",
                path or "the built-in rule set")
    end
    return rs
end

--- Loads the rules; call from init_by_lua* (the master, before the workers
--- fork). opts: config (path to rampart.toml; nil for the built-in rules),
--- rulesets (name -> config path: more rule sets, chosen per location with
--- check { ruleset = NAME }), mode ("block" | "detect": override the
--- config's mode everywhere), audit_log (path: one JSON line per flagged
--- request). Raises on a broken config or rule file, which fails nginx's
--- start or reload with the file:line:col message.
function _M.init(opts)
    opts = opts or {}
    rules = load(opts.config)
    named = {}
    for name, path in pairs(opts.rulesets or {}) do
        named[name] = load(path)
    end
    default_mode = check_mode(opts.mode, "mode")
    if audit_file then audit_file:close() audit_file = nil end
    if opts.audit_log then
        -- Opened here, by the master (like nginx's own logs), and inherited by
        -- every worker: unbuffered, so each line is one write(2) on an O_APPEND
        -- file and lines from different workers never interleave.
        local f, err = io.open(opts.audit_log, "a")
        if not f then error("rampart_waf: cannot open the audit log: " .. tostring(err), 2) end
        f:setvbuf("no")
        audit_file = f
    end
end

-- Replaces the first exact occurrence of `from` (a JSON key and value; every
-- quote inside a JSON string is escaped, so it can only match a key).
local function replace_first(s, from, to)
    local i, j = find(s, from, 1, true)
    if not i then return s end
    return sub(s, 1, i - 1) .. to .. sub(s, j + 1)
end

local function write_audit(tx, v, blocked)
    local line = tx:audit_json()
    if blocked ~= v.blocked then
        -- The mode was overridden here: say what was done, not what the engine would have done.
        line = replace_first(line, '"action":"' .. v.action .. '"',
                             '"action":"' .. (blocked and "block" or "log") .. '"')
        line = replace_first(line, blocked and '"mode":"detect"' or '"mode":"block"',
                             blocked and '"mode":"block"' or '"mode":"detect"')
    end
    local ok, err = audit_file:write(line .. "\n")
    if not ok then ngx.log(ngx.ERR, "rampart: audit log write failed: ", err) end
end

local function log_verdict(tx, v, blocked)
    local parts = {}
    for _, m in ipairs(tx:matches() or {}) do
        parts[#parts + 1] = m.rule_id .. (m.field ~= "" and (" in " .. m.field) or "")
                            .. ' "' .. m.message .. '"'
    end
    ngx.log(blocked and ngx.ERR or ngx.WARN, "rampart: ",
            blocked and "blocked" or (v.would_block and "detected (not blocked)" or "logged"),
            ", status ", v.status, ", score ", v.score,
            v.limit and (", over the limit " .. v.limit) or "",
            #parts > 0 and ("; rules " .. table.concat(parts, ", ")) or "")
end

local function fail(tx, what, err)
    -- A library failure (a bug in rampart, caught at its boundary): fail closed.
    ngx.log(ngx.ERR, "rampart: ", what, " failed: ", tostring(err))
    tx:free()
    return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
end

local function feed_body(tx)
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        return tx:append_body(body)
    end
    local name = ngx.req.get_body_file()          -- larger than client_body_buffer_size
    if not name then return true end
    local f, err = io.open(name, "rb")
    if not f then return nil, err end
    while true do
        local chunk = f:read(CHUNK)
        if not chunk then break end
        local ok, e = tx:append_body(chunk)
        if not ok then f:close() return nil, e end
    end
    f:close()
    return true
end

--- Inspects the current request; call from rewrite_by_lua* (with
--- rewrite_by_lua_no_postpone on). opts.mode: "block" | "detect" for this
--- location. Ends the request with the verdict's status when it is blocked.
function _M.check(opts)
    if ngx.req.is_internal() then return end     -- already inspected before the redirect
    if not rules then
        ngx.log(ngx.ERR, "rampart: no rules: call require(\"rampart_waf\").init() in init_by_lua")
        return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
    end
    local mode = check_mode(opts and opts.mode, "mode") or default_mode
    local rs = rules
    if opts and opts.ruleset then
        rs = named[opts.ruleset]
        if not rs then error("rampart_waf: no ruleset named " .. tostring(opts.ruleset), 2) end
    end

    local tx = rs:transaction()
    local var = ngx.var
    local ok, err = tx:set_request(ngx.req.get_method(), var.request_uri, var.server_protocol or "")
    if not ok then return fail(tx, "set_request", err) end
    tx:set_client(var.remote_addr or "")
    if var.https == "on" then tx:set_scheme("https") end
    -- Every header, in order (raw = true keeps names as sent; 0 = no 100-header cap).
    ok, err = tx:add_headers(ngx.req.get_headers(0, true))
    if not ok then return fail(tx, "add_headers", err) end

    local v
    v, err = tx:evaluate(rampart.REQUEST_HEADERS)
    if not v then return fail(tx, "evaluate", err) end
    local headers_block = (mode == "block" and v.would_block) or (mode == nil and v.blocked)
    if not headers_block then
        if var.http_content_length or var.http_transfer_encoding then
            ok, err = feed_body(tx)
            if not ok then return fail(tx, "reading the body", err) end
        end
        v, err = tx:evaluate(rampart.REQUEST_BODY)
        if not v then return fail(tx, "evaluate", err) end
    end

    local blocked
    if mode == "block" then blocked = v.would_block
    elseif mode == "detect" then blocked = false
    else blocked = v.blocked end

    if blocked or v.action ~= "allow" or v.would_block then
        log_verdict(tx, v, blocked)
        if audit_file then
            tx:set_request_id(var.request_id)
            write_audit(tx, v, blocked)
        end
    end
    local status = v.status
    tx:free()
    if blocked then
        if status < 300 or status > 599 then status = 403 end
        return ngx.exit(status)
    end
end

return _M
