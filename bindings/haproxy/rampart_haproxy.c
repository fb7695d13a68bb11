/*
 * rampart_haproxy.c: rampart's C ABI as a Lua 5.3 C module, for HAProxy's
 * Lua (Debian's haproxy 2.6 links liblua5.3). rampart.lua, beside this file,
 * uses it to register the `lua.rampart` http-request action.
 *
 *   local rampart = require "rampart_haproxy"
 *   local rules = assert(rampart.load("/etc/rampart/rampart.toml"))  -- or rampart.default()
 *   local tx = rules:transaction()
 *   tx:set_request("GET", "/item?id=1", "HTTP/1.1")
 *   tx:add_headers_bin(txn.f:req_hdrs_bin())     -- HAProxy's req.hdrs_bin encoding
 *   local v = tx:evaluate(rampart.REQUEST_HEADERS)
 *   ...
 *   tx:free()
 *
 * Build (no -llua5.3: the lua_* symbols come from HAProxy itself):
 *
 *   cc -O2 -Wall -Wextra -Werror -fPIC -shared $(pkg-config --cflags lua5.3) \
 *      -Iinclude bindings/haproxy/rampart_haproxy.c target/release/librampart.a \
 *      -Wl,--exclude-libs,ALL -Wl,--gc-sections -lgcc_s -lpthread -ldl -lm \
 *      -o rampart_haproxy.so
 *
 * Threads: HAProxy runs one Lua state per thread with lua-load-per-thread.
 * Rulesets are immutable and thread-safe, so rampart.load() and
 * rampart.default() compile once per process (a cache under a mutex) and
 * hand every state a reference to the same ruleset. A transaction belongs to
 * the Lua state (thread) that made it. Evaluation scratch memory is per
 * thread inside the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "rampart.h"

#define RULESET_MT "rampart.ruleset"
#define TX_MT "rampart.transaction"

/* Exported: the one symbol `require "rampart_haproxy"` looks for. */
int luaopen_rampart_haproxy(lua_State *L) __attribute__((visibility("default")));

typedef struct {
    rampart_ruleset *rs;
} l_ruleset;

typedef struct {
    rampart_tx *tx;
} l_tx;

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

static const char *result_name(rampart_result rc)
{
    switch (rc) {
    case RAMPART_RESULT_OK: return "OK";
    case RAMPART_RESULT_NULL_ARGUMENT: return "NULL_ARGUMENT";
    case RAMPART_RESULT_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case RAMPART_RESULT_RULE_ERROR: return "RULE_ERROR";
    case RAMPART_RESULT_LIMIT_EXCEEDED: return "LIMIT_EXCEEDED";
    case RAMPART_RESULT_BUFFER_TOO_SMALL: return "BUFFER_TOO_SMALL";
    case RAMPART_RESULT_PANIC: return "PANIC";
    case RAMPART_RESULT_POISONED: return "POISONED";
    case RAMPART_RESULT_IO: return "IO";
    case RAMPART_RESULT_TOO_LATE: return "TOO_LATE";
    default: return "UNKNOWN_RESULT";
    }
}

static const char *action_name(rampart_action a)
{
    switch (a) {
    case RAMPART_ACTION_ALLOW: return "allow";
    case RAMPART_ACTION_BLOCK: return "block";
    case RAMPART_ACTION_LOG: return "log";
    default: return "unknown";
    }
}

static const char *phase_name(rampart_phase p)
{
    return p == RAMPART_PHASE_REQUEST_HEADERS ? "request_headers" : "request_body";
}

static const char *limit_name(rampart_limit l)
{
    switch (l) {
    case RAMPART_LIMIT_BODY_BYTES: return "max_body_bytes";
    case RAMPART_LIMIT_ARGS: return "max_args";
    case RAMPART_LIMIT_HEADERS: return "max_headers";
    case RAMPART_LIMIT_HEADER_BYTES: return "max_header_bytes";
    case RAMPART_LIMIT_URI_BYTES: return "max_uri_bytes";
    case RAMPART_LIMIT_JSON_DEPTH: return "max_json_depth";
    case RAMPART_LIMIT_MULTIPART_PARTS: return "max_multipart_parts";
    default: return "unknown";
    }
}

static const char *severity_name(rampart_severity s)
{
    switch (s) {
    case RAMPART_SEVERITY_CRITICAL: return "critical";
    case RAMPART_SEVERITY_ERROR: return "error";
    case RAMPART_SEVERITY_WARNING: return "warning";
    case RAMPART_SEVERITY_NOTICE: return "notice";
    default: return NULL;
    }
}

/* Pushes nil and the result code's name: the (nil, err) convention. */
static int push_failure(lua_State *L, rampart_result rc)
{
    lua_pushnil(L);
    lua_pushstring(L, result_name(rc));
    return 2;
}

static int push_status(lua_State *L, rampart_result rc)
{
    if (rc != RAMPART_RESULT_OK)
        return push_failure(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Process-wide caches: one compile per config path, one fd per audit log   */
/* ------------------------------------------------------------------------ */

struct cached_ruleset {
    char *path; /* NULL: the built-in rules */
    rampart_ruleset *rs;
    struct cached_ruleset *next;
};

struct cached_log {
    char *path;
    int fd;
    struct cached_log *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_ruleset *rulesets;
static struct cached_log *logs;

/* Pushes a ruleset userdata holding its own reference to `rs`. */
static void push_ruleset(lua_State *L, rampart_ruleset *rs)
{
    l_ruleset *u = lua_newuserdata(L, sizeof *u);
    u->rs = rampart_ruleset_retain(rs);
    luaL_setmetatable(L, RULESET_MT);
}

/* On failure pushes nil, message, file, line, column. */
static int push_load_error(lua_State *L, rampart_result rc, rampart_error *err)
{
    const char *msg = err ? rampart_error_message(err) : NULL;
    size_t len;

    lua_pushnil(L);
    if (msg == NULL) {
        lua_pushstring(L, result_name(rc));
        lua_pushstring(L, "");
        lua_pushinteger(L, 0);
        lua_pushinteger(L, 0);
        return 5;
    }
    len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        len--;
    lua_pushlstring(L, msg, len);
    lua_pushstring(L, rampart_error_file(err));
    lua_pushinteger(L, rampart_error_line(err));
    lua_pushinteger(L, rampart_error_column(err));
    rampart_error_free(err);
    return 5;
}

/* The cached ruleset for `path` (NULL: built-in), compiling it on first use.
 * Called with cache_lock held. */
static rampart_result cache_get(const char *path, size_t len, rampart_ruleset **out,
                                rampart_error **err)
{
    struct cached_ruleset *c;
    rampart_result rc;
    rampart_ruleset *rs = NULL;

    for (c = rulesets; c; c = c->next) {
        if ((path == NULL && c->path == NULL)
            || (path && c->path && strlen(c->path) == len && memcmp(c->path, path, len) == 0)) {
            *out = c->rs;
            return RAMPART_RESULT_OK;
        }
    }
    rc = path ? rampart_ruleset_load(path, len, &rs, err) : rampart_ruleset_default(&rs);
    if (rc != RAMPART_RESULT_OK)
        return rc;
    c = calloc(1, sizeof *c);
    if (c == NULL || (path && (c->path = strndup(path, len)) == NULL)) {
        free(c);
        rampart_ruleset_release(rs);
        return RAMPART_RESULT_PANIC;
    }
    c->rs = rs; /* the cache's reference, kept for the life of the process */
    c->next = rulesets;
    rulesets = c;
    *out = rs;
    return RAMPART_RESULT_OK;
}

/* rampart.load(path) -> ruleset | nil, message, file, line, column.
 * Compiles once per process and path; later calls share the ruleset. */
static int l_load(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    rampart_ruleset *rs = NULL;
    rampart_error *err = NULL;
    rampart_result rc;

    pthread_mutex_lock(&cache_lock);
    rc = cache_get(path, len, &rs, &err);
    if (rc == RAMPART_RESULT_OK)
        push_ruleset(L, rs); /* retains under the lock: the cache keeps its own */
    pthread_mutex_unlock(&cache_lock);
    if (rc != RAMPART_RESULT_OK)
        return push_load_error(L, rc, err);
    return 1;
}

/* rampart.default() -> ruleset | nil, message: the built-in rules. */
static int l_default(lua_State *L)
{
    rampart_ruleset *rs = NULL;
    rampart_result rc;

    pthread_mutex_lock(&cache_lock);
    rc = cache_get(NULL, 0, &rs, NULL);
    if (rc == RAMPART_RESULT_OK)
        push_ruleset(L, rs);
    pthread_mutex_unlock(&cache_lock);
    if (rc != RAMPART_RESULT_OK)
        return push_load_error(L, rc, NULL);
    return 1;
}

/* rampart.compile(text) -> ruleset | nil, message, file, line, column (not cached). */
static int l_compile(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    rampart_ruleset *rs = NULL;
    rampart_error *err = NULL;
    rampart_result rc = rampart_ruleset_compile(text, len, &rs, &err);

    if (rc != RAMPART_RESULT_OK)
        return push_load_error(L, rc, err);
    push_ruleset(L, rs);
    rampart_ruleset_release(rs);
    return 1;
}

/* rampart.open_log(path) -> fd | nil, message. Opened once per process and
 * path, append-only: each audit line is one write(2), so lines written by
 * different threads never interleave. */
static int l_open_log(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    struct cached_log *c;
    int fd = -1, saved = 0;

    pthread_mutex_lock(&cache_lock);
    for (c = logs; c; c = c->next) {
        if (strlen(c->path) == len && memcmp(c->path, path, len) == 0) {
            fd = c->fd;
            break;
        }
    }
    if (fd < 0) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        saved = errno;
        if (fd >= 0) {
            c = calloc(1, sizeof *c);
            if (c && (c->path = strndup(path, len)) != NULL) {
                c->fd = fd;
                c->next = logs;
                logs = c;
            } else {
                free(c);
            }
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot open %s: %s", path, strerror(saved));
        return 2;
    }
    lua_pushinteger(L, fd);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Rulesets                                                                 */
/* ------------------------------------------------------------------------ */

static rampart_ruleset *check_ruleset(lua_State *L, int i)
{
    l_ruleset *u = luaL_checkudata(L, i, RULESET_MT);
    if (u->rs == NULL)
        luaL_error(L, "rampart: ruleset is released");
    return u->rs;
}

static int l_ruleset_gc(lua_State *L)
{
    l_ruleset *u = luaL_checkudata(L, 1, RULESET_MT);
    rampart_ruleset_release(u->rs);
    u->rs = NULL;
    return 0;
}

static int l_ruleset_rule_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)rampart_ruleset_rule_count(check_ruleset(L, 1)));
    return 1;
}

static int l_ruleset_transaction(lua_State *L)
{
    rampart_ruleset *rs = check_ruleset(L, 1);
    l_tx *u = lua_newuserdata(L, sizeof *u);

    u->tx = NULL;
    luaL_setmetatable(L, TX_MT);
    u->tx = rampart_tx_new(rs);
    if (u->tx == NULL)
        return luaL_error(L, "rampart: rampart_tx_new failed");
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                             */
/* ------------------------------------------------------------------------ */

static rampart_tx *check_tx(lua_State *L, int i)
{
    l_tx *u = luaL_checkudata(L, i, TX_MT);
    if (u->tx == NULL)
        luaL_error(L, "rampart: transaction is freed");
    return u->tx;
}

static int l_tx_free(lua_State *L)
{
    l_tx *u = luaL_checkudata(L, 1, TX_MT);
    rampart_tx_free(u->tx);
    u->tx = NULL;
    return 0;
}

static int l_tx_reset(lua_State *L)
{
    rampart_tx_reset(check_tx(L, 1));
    return 0;
}

/* tx:set_request(method, uri [, protocol = "HTTP/1.1"]) */
static int l_tx_set_request(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t ml, ul, pl;
    const char *m = luaL_checklstring(L, 2, &ml);
    const char *u = luaL_checklstring(L, 3, &ul);
    const char *p = luaL_optlstring(L, 4, "HTTP/1.1", &pl);
    return push_status(L, rampart_tx_set_request(tx, m, ml, u, ul, p, pl));
}

static int l_tx_set_client(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return push_status(L, rampart_tx_set_client(tx, s, n));
}

static int l_tx_set_scheme(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return push_status(L, rampart_tx_set_scheme(tx, s, n));
}

static int l_tx_set_request_id(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return push_status(L, rampart_tx_set_request_id(tx, s, n));
}

static int l_tx_add_header(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t nl, vl;
    const char *n = luaL_checklstring(L, 2, &nl);
    const char *v = luaL_checklstring(L, 3, &vl);
    return push_status(L, rampart_tx_add_header(tx, n, nl, v, vl));
}

/* HAProxy's varint (include/haproxy/intops.h, decode_varint). Returns 0 at
 * the end of the input. */
static int decode_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    const unsigned char *m = *p;
    uint64_t v;
    int shift = 4;

    if (m >= end)
        return 0;
    v = *m;
    if (v >= 240) {
        do {
            if (++m >= end || shift > 57)
                return 0;
            v += (uint64_t)*m << shift;
            shift += 7;
        } while (*m >= 128);
    }
    *p = m + 1;
    *out = v;
    return 1;
}

/* tx:add_headers_bin(s): adds every header of HAProxy's `req.hdrs_bin`
 * (varint name length, name, varint value length, value, ..., ending with two
 * empty strings), in order, duplicates kept. Returns the count added, or nil
 * and an error. */
static int l_tx_add_headers_bin(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t len;
    const unsigned char *p = (const unsigned char *)luaL_checklstring(L, 2, &len);
    const unsigned char *end = p + len, *name, *value;
    uint64_t nl, vl;
    lua_Integer count = 0;
    rampart_result rc;

    for (;;) {
        if (!decode_varint(&p, end, &nl) || nl > (uint64_t)(end - p))
            break;
        name = p;
        p += nl;
        if (!decode_varint(&p, end, &vl) || vl > (uint64_t)(end - p))
            break;
        value = p;
        p += vl;
        if (nl == 0 && vl == 0) {
            lua_pushinteger(L, count);
            return 1;
        }
        rc = rampart_tx_add_header(tx, (const char *)name, nl, (const char *)value, vl);
        if (rc != RAMPART_RESULT_OK)
            return push_failure(L, rc);
        count++;
    }
    lua_pushnil(L);
    lua_pushstring(L, "MALFORMED_HDRS_BIN");
    return 2;
}

static int l_tx_append_body(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return push_status(L, rampart_tx_append_body(tx, (const uint8_t *)s, n));
}

#define SET_INT(name, value) (lua_pushinteger(L, (lua_Integer)(value)), lua_setfield(L, -2, name))
#define SET_STR(name, value) (lua_pushstring(L, (value)), lua_setfield(L, -2, name))
#define SET_BOOL(name, value) (lua_pushboolean(L, (value)), lua_setfield(L, -2, name))

/* tx:evaluate(phase) -> {action, blocked, status, score, match_count,
 * would_block, phase, limit} | nil, err. phase: rampart.REQUEST_HEADERS,
 * rampart.REQUEST_BODY, or their names. */
static int l_tx_evaluate(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    rampart_phase phase;
    rampart_verdict v;
    rampart_result rc;

    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *s = lua_tostring(L, 2);
        if (strcmp(s, "request_headers") == 0)
            phase = RAMPART_PHASE_REQUEST_HEADERS;
        else if (strcmp(s, "request_body") == 0)
            phase = RAMPART_PHASE_REQUEST_BODY;
        else
            return luaL_argerror(L, 2, "unknown phase");
    } else {
        phase = (rampart_phase)luaL_checkinteger(L, 2);
    }
    rc = rampart_tx_evaluate(tx, phase, &v);
    if (rc != RAMPART_RESULT_OK)
        return push_failure(L, rc);
    lua_createtable(L, 0, 8);
    SET_STR("action", action_name(v.action));
    SET_BOOL("blocked", v.action == RAMPART_ACTION_BLOCK);
    SET_INT("status", v.status);
    SET_INT("score", v.score);
    SET_INT("match_count", v.match_count);
    SET_BOOL("would_block", v.would_block != 0);
    SET_STR("phase", phase_name(v.phase));
    if (v.limit != RAMPART_LIMIT_NONE)
        SET_STR("limit", limit_name(v.limit));
    return 1;
}

/* tx:matches() -> list of {rule_id, severity, phase, offset, message, field, snippet}. */
static int l_tx_matches(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    size_t i, n = rampart_tx_match_count(tx);
    rampart_match m;
    const char *sev;

    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        if (rampart_tx_match(tx, i, &m) != RAMPART_RESULT_OK)
            break;
        lua_createtable(L, 0, 7);
        SET_INT("rule_id", m.rule_id);
        sev = severity_name(m.severity);
        if (sev)
            SET_STR("severity", sev);
        SET_STR("phase", phase_name(m.phase));
        SET_INT("offset", m.offset);
        lua_pushlstring(L, m.message, m.message_len);
        lua_setfield(L, -2, "message");
        lua_pushlstring(L, m.field, m.field_len);
        lua_setfield(L, -2, "field");
        lua_pushlstring(L, (const char *)m.snippet, m.snippet_len);
        lua_setfield(L, -2, "snippet");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* Replaces the first occurrence of `from` by `to`. Every `"` inside a JSON
 * string is escaped, so a pattern such as `"action":"block"` or `"limit":null`
 * can only match a key and its value. Returns the new length (0: not done). */
static size_t replace_first(char *line, size_t len, size_t cap, const char *from, const char *to)
{
    size_t flen = strlen(from), tlen = strlen(to);
    char *p, *end = line + len;

    if (flen == 0)
        return 0;
    for (p = line; p + flen <= end; p++)
        if (memcmp(p, from, flen) == 0)
            break;
    if (p + flen > end || len - flen + tlen > cap)
        return 0;
    memmove(p + tlen, p + flen, (size_t)(end - p - flen));
    memcpy(p, to, tlen);
    return len - flen + tlen;
}

/* The audit line, with the (from, to) string pairs from Lua argument `first`
 * on applied (see replace_first); pushes it or nil, err. */
static int push_audit(lua_State *L, rampart_tx *tx, int first, int fd)
{
    char stack[8192], *line;
    size_t len = 0, cap = 0, n;
    int i, top = lua_gettop(L), saved;
    ssize_t w;
    size_t extra = 0;

    for (i = first; i + 1 <= top; i += 2)
        extra += luaL_len(L, i + 1);
    n = rampart_tx_audit_json(tx, stack, sizeof stack);
    if (n == 0)
        return push_failure(L, RAMPART_RESULT_POISONED);
    len = n;
    line = stack;
    cap = sizeof stack;
    if (n + extra >= cap) {
        cap = n + extra + 1;
        line = malloc(cap);
        if (line == NULL || rampart_tx_audit_json(tx, line, cap) != n) {
            free(line);
            return push_failure(L, RAMPART_RESULT_PANIC);
        }
    }
    for (i = first; i + 1 <= top; i += 2) {
        const char *from = luaL_checkstring(L, i), *to = luaL_checkstring(L, i + 1);
        if ((n = replace_first(line, len, cap, from, to)) != 0)
            len = n;
    }
    if (fd < 0) {
        lua_pushlstring(L, line, len);
        if (line != stack)
            free(line);
        return 1;
    }
    do {
        w = write(fd, line, len);
    } while (w < 0 && errno == EINTR);
    saved = errno;
    if (line != stack)
        free(line);
    if (w < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "audit log write failed: %s", strerror(saved));
        return 2;
    }
    if ((size_t)w != len) {
        lua_pushnil(L);
        lua_pushstring(L, "audit log write was incomplete");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* tx:audit_json([from, to, ...]) -> the audit line (with its newline) | nil, err.
 * Each (from, to) pair replaces a key and value the host overrode, e.g.
 * '"action":"block"', '"action":"log"' when a detect mode let it through. */
static int l_tx_audit_json(lua_State *L)
{
    return push_audit(L, check_tx(L, 1), 2, -1);
}

/* tx:write_audit(fd [, from, to, ...]) -> true | nil, err: the audit line in
 * one write(2) on an fd from rampart.open_log(). */
static int l_tx_write_audit(lua_State *L)
{
    rampart_tx *tx = check_tx(L, 1);
    int fd = (int)luaL_checkinteger(L, 2);
    return push_audit(L, tx, 3, fd);
}

/* ------------------------------------------------------------------------ */
/* Module                                                                   */
/* ------------------------------------------------------------------------ */

static int l_version(lua_State *L)
{
    lua_pushstring(L, rampart_version());
    return 1;
}

static const luaL_Reg module_fns[] = {
    {"load", l_load},
    {"default", l_default},
    {"compile", l_compile},
    {"open_log", l_open_log},
    {"version", l_version},
    {NULL, NULL},
};

static const luaL_Reg ruleset_methods[] = {
    {"rule_count", l_ruleset_rule_count},
    {"transaction", l_ruleset_transaction},
    {"release", l_ruleset_gc},
    {NULL, NULL},
};

static const luaL_Reg tx_methods[] = {
    {"set_request", l_tx_set_request},
    {"set_client", l_tx_set_client},
    {"set_scheme", l_tx_set_scheme},
    {"set_request_id", l_tx_set_request_id},
    {"add_header", l_tx_add_header},
    {"add_headers_bin", l_tx_add_headers_bin},
    {"append_body", l_tx_append_body},
    {"evaluate", l_tx_evaluate},
    {"matches", l_tx_matches},
    {"audit_json", l_tx_audit_json},
    {"write_audit", l_tx_write_audit},
    {"reset", l_tx_reset},
    {"free", l_tx_free},
    {NULL, NULL},
};

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

int luaopen_rampart_haproxy(lua_State *L)
{
    if (rampart_abi_version() >> 16 != RAMPART_ABI_VERSION >> 16)
        return luaL_error(L, "rampart: the library has ABI %d.%d, this module needs %d.x",
                          (int)(rampart_abi_version() >> 16), (int)(rampart_abi_version() & 0xffff),
                          (int)(RAMPART_ABI_VERSION >> 16));
    new_class(L, RULESET_MT, ruleset_methods, l_ruleset_gc);
    new_class(L, TX_MT, tx_methods, l_tx_free);
    luaL_newlib(L, module_fns);
    lua_pushinteger(L, RAMPART_PHASE_REQUEST_HEADERS);
    lua_setfield(L, -2, "REQUEST_HEADERS");
    lua_pushinteger(L, RAMPART_PHASE_REQUEST_BODY);
    lua_setfield(L, -2, "REQUEST_BODY");
    return 1;
}
