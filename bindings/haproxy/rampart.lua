-- rampart.lua: the rampart WAF as an HAProxy http-request action.
--
--   global
--       setenv RAMPART_CPATH /usr/local/lib/rampart/?.so      -- where rampart_haproxy.so is
--       setenv RAMPART_CONFIG /etc/rampart/rampart.toml       -- unset: the built-in rules
--       setenv RAMPART_AUDIT_LOG /var/log/haproxy/rampart-audit.log   -- unset: no audit file
--       lua-load-per-thread /usr/local/share/rampart/rampart.lua
--   frontend web
--       option http-buffer-request                            -- required: wait for the body
--       http-request set-var(txn.rampart_mode) str(detect)    -- optional: block | detect
--       http-request set-var(txn.rampart_body_over_buffer) str(inspect)  -- optional, see below
--       http-request lua.rampart
--
-- The action feeds the request (method, path and query, version, client
-- address, every header in order, the buffered body) to rampart, evaluates
-- it, and answers a blocked request itself with the verdict's status. It sets
-- txn.rampart_action ("allow", "block", "log"), txn.rampart_status and
-- txn.rampart_score for logs and ACLs.
--
-- Bodies: HAProxy hands http-request rules at most one buffer of body
-- (tune.bufsize, 16 KiB by default). A body that did not fit is never passed
-- silently: RAMPART_BODY_OVER_BUFFER=reject (the default) answers it with
-- RAMPART_BODY_OVER_BUFFER_STATUS (413), like the engine's on_limit = "reject";
-- =inspect inspects the part that fit and lets the rest through, logged and
-- audited as over the limit. See README.md.
--
-- Environment (all read once, when HAProxy loads this file; `setenv` lines
-- must come before `lua-load*`):
--   RAMPART_CPATH                    package.cpath entry for rampart_haproxy.so
--   RAMPART_CONFIG                   engine config (rampart.toml); unset or empty: built-in rules
--   RAMPART_MODE                     block | detect: override the config's mode for every
--                                    frontend (txn.rampart_mode overrides it per request)
--   RAMPART_AUDIT_LOG                file to append one JSON line per flagged request to
--   RAMPART_BODY_OVER_BUFFER         reject (default) | inspect
--   RAMPART_BODY_OVER_BUFFER_STATUS  status for reject (default 413)

local cpath = os.getenv("RAMPART_CPATH")
if cpath and cpath ~= "" then
    package.cpath = cpath .. ";" .. package.cpath
end

local rampart = require "rampart_haproxy"

local function env(name, default)
    local v = os.getenv(name)
    if v == nil or v == "" then return default end
    return v
end

local config = env("RAMPART_CONFIG", nil)
local rules, err
if config then
    rules, err = rampart.load(config)
else
    rules, err = rampart.default()
end
if not rules then
    -- Fails HAProxy's start (or `haproxy -c`) with file:line:col.
    error("rampart: cannot load " .. (config or "the built-in rules") .. ": " .. tostring(err), 0)
end

local default_mode = env("RAMPART_MODE", nil)
if default_mode and default_mode ~= "block" and default_mode ~= "detect" then
    error("rampart: RAMPART_MODE must be block or detect, not " .. default_mode, 0)
end

local over_buffer = env("RAMPART_BODY_OVER_BUFFER", "reject")
if over_buffer ~= "reject" and over_buffer ~= "inspect" then
    error("rampart: RAMPART_BODY_OVER_BUFFER must be reject or inspect, not " .. over_buffer, 0)
end
local over_buffer_status = math.tointeger(tonumber(env("RAMPART_BODY_OVER_BUFFER_STATUS", "413")))
if not over_buffer_status or over_buffer_status < 100 or over_buffer_status > 599 then
    error("rampart: RAMPART_BODY_OVER_BUFFER_STATUS must be an HTTP status", 0)
end

local audit_fd
local audit_path = env("RAMPART_AUDIT_LOG", nil)
if audit_path then
    audit_fd, err = rampart.open_log(audit_path)
    if not audit_fd then error("rampart: " .. err, 0) end
end

local REASONS = { [400] = "Bad Request", [403] = "Forbidden", [404] = "Not Found",
                  [405] = "Method Not Allowed", [413] = "Payload Too Large",
                  [429] = "Too Many Requests", [500] = "Internal Server Error" }

-- Whether the body HAProxy buffered is only part of the request's body.
-- req.body_size is the declared length (Content-Length, or the announced
-- chunk sizes); once the buffer is full the channel cannot receive more.
local function body_truncated(txn, len)
    local declared = tonumber(txn.f:req_body_size() or 0) or 0
    if declared > len then return true end
    local ok, may_recv = pcall(txn.req.may_recv, txn.req)
    return ok and may_recv == false and len > 0
end

local function answer(txn, status, text)
    local reply = txn:reply({
        status = status,
        reason = REASONS[status],
        headers = { ["content-type"] = { "text/plain" }, ["cache-control"] = { "no-cache" } },
        body = text .. "\n",
    })
    txn:done(reply)
end

local function log_verdict(txn, tx, v, what)
    local parts = {}
    for _, m in ipairs(tx:matches()) do
        parts[#parts + 1] = string.format('%d%s "%s"', m.rule_id,
            m.field ~= "" and (" in " .. m.field) or "", m.message)
    end
    txn:Warning(string.format("rampart: %s, status %d, score %d%s%s", what, v.status, v.score,
        v.limit and (", over the limit " .. v.limit) or "",
        #parts > 0 and ("; rules " .. table.concat(parts, ", ")) or ""))
end

local function fail(txn, tx, call, e)
    -- A library failure (a bug in rampart, caught at its boundary): fail closed.
    txn:Alert("rampart: " .. call .. " failed: " .. tostring(e))
    tx:free()
    return answer(txn, 500, "Internal Server Error")
end

local function check(txn)
    local f = txn.f
    local tx = rules:transaction()
    local ok, e

    ok, e = tx:set_request(f:method() or "", f:url() or "", "HTTP/" .. (f:req_ver() or "1.1"))
    if not ok then return fail(txn, tx, "set_request", e) end
    tx:set_client(f:src() or "")
    if f:ssl_fc() then tx:set_scheme("https") end
    local id = f:unique_id()
    if id and id ~= "" then tx:set_request_id(id) end
    ok, e = tx:add_headers_bin(f:req_hdrs_bin() or "")
    if not ok then return fail(txn, tx, "add_headers_bin", e) end

    local mode = txn:get_var("txn.rampart_mode") or default_mode
    local v
    v, e = tx:evaluate(rampart.REQUEST_HEADERS)
    if not v then return fail(txn, tx, "evaluate", e) end

    local truncated = false
    local blocked = (mode == "block" and v.would_block) or (mode == nil and v.blocked)
    if not blocked then
        local body = f:req_body()
        if body and #body > 0 then
            truncated = body_truncated(txn, #body)
            ok, e = tx:append_body(body)
            if not ok then return fail(txn, tx, "append_body", e) end
        end
        v, e = tx:evaluate(rampart.REQUEST_BODY)
        if not v then return fail(txn, tx, "evaluate", e) end
    end

    if mode == "block" then
        blocked = v.would_block
    elseif mode == "detect" then
        blocked = false
    else
        blocked = v.blocked
    end
    local status = v.status
    v.engine_status = v.status
    local over = false
    if truncated and not blocked then
        -- The body did not fit in HAProxy's buffer: the engine saw only its start.
        over = true
        v.limit = v.limit or "body_over_buffer"
        -- Reject unless told to inspect, or in detect mode (the connector's, or
        -- the engine's: the ABI has no accessor for it, the audit line says it).
        local detect = mode == "detect"
            or (mode == nil and (tx:audit_json() or ""):find('"mode":"detect"', 1, true) ~= nil)
        if (txn:get_var("txn.rampart_body_over_buffer") or over_buffer) ~= "inspect"
                and not detect then
            blocked, status = true, over_buffer_status
            v.status = status
        end
    end

    local flagged = blocked or over or v.action ~= "allow" or v.would_block
    if flagged then
        local what = blocked and "blocked" or (v.would_block and "detected (not blocked)" or "logged")
        log_verdict(txn, tx, v, what)
        if audit_fd then
            -- The engine wrote what it decided; say what was done instead.
            local edits = {}
            if blocked ~= v.blocked then
                local now = blocked and "block" or "log"
                edits[#edits + 1] = '"action":"' .. v.action .. '"'
                edits[#edits + 1] = '"action":"' .. now .. '"'
                edits[#edits + 1] = blocked and '"mode":"detect"' or '"mode":"block"'
                edits[#edits + 1] = blocked and '"mode":"block"' or '"mode":"detect"'
            end
            if over then
                edits[#edits + 1] = '"limit":null'
                edits[#edits + 1] = '"limit":"body_over_buffer"'
                if blocked and status ~= v.engine_status then
                    edits[#edits + 1] = '"status":' .. v.engine_status .. ','
                    edits[#edits + 1] = '"status":' .. status .. ','
                end
            end
            local w_ok, w_err = tx:write_audit(audit_fd, table.unpack(edits))
            if not w_ok then txn:Alert("rampart: " .. w_err) end
        end
    end

    txn:set_var("txn.rampart_action", blocked and "block" or v.action)
    txn:set_var("txn.rampart_status", status)
    txn:set_var("txn.rampart_score", v.score)
    tx:free()

    if blocked then
        if status < 100 or status > 599 then status = 403 end
        return answer(txn, status, REASONS[status] or "Blocked")
    end
    return act.CONTINUE
end

core.register_action("rampart", { "http-req" }, check, 0)
