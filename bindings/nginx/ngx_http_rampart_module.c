/*
 * ngx_http_rampart_module: the rampart web application firewall engine in
 * nginx, as a dynamic module over rampart's C ABI (include/rampart.h).
 *
 *   load_module modules/ngx_http_rampart_module.so;
 *   http {
 *       rampart            on;                        # http, server, location
 *       rampart_config     /etc/rampart/rampart.toml; # default: built-in rules
 *       rampart_mode       block;                     # block | detect; default: the config's mode
 *       rampart_audit_log  /var/log/nginx/rampart-audit.log;   # or off (default)
 *   }
 *
 * Design (see README.md beside this file):
 *
 * - Rules compile at configuration time, in the master process; workers
 *   inherit the compiled rulesets with fork(). A reload compiles the new
 *   configuration's rules into the new cycle: if a rule file is broken, the
 *   reload fails with the file:line:col message and the old cycle (and its
 *   rules) keeps serving. Rulesets belong to the cycle's pool and are
 *   released by its cleanup, so reloads do not leak.
 * - The handler runs in the REWRITE phase, before the rewrite module (a
 *   `return` in a location, or `rewrite ... last`) and before the access
 *   phase (`satisfy any`, `allow`/`deny`, `auth_request`), so neither can
 *   answer a request rampart has not seen.
 * - One rampart transaction per request, given back by a request pool
 *   cleanup to a small per-worker list of idle transactions that later
 *   requests reuse: a reused transaction keeps the memory it grew, so a
 *   request costs no allocation in the engine. The request line, client address, every header (nginx's list, in order)
 *   and the whole body (memory buffers and temp file alike, read with
 *   ngx_http_read_client_request_body) are fed to it; the verdict's status
 *   answers a blocked request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <rampart.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif


#define NGX_HTTP_RAMPART_MODE_ENGINE  0   /* the engine config's mode */
#define NGX_HTTP_RAMPART_MODE_BLOCK   1
#define NGX_HTTP_RAMPART_MODE_DETECT  2

/* Most bytes of a temp-file body read per call (one static buffer per worker). */
#define NGX_HTTP_RAMPART_FILE_CHUNK   65536

/* Audit lines that fit here need no allocation. */
#define NGX_HTTP_RAMPART_AUDIT_STACK  8192

/* Most idle transactions a worker keeps for reuse, and the largest body a
 * reused transaction may have held (a transaction keeps the memory it grew:
 * one that held a larger body is freed, so idle memory stays bounded). */
#define NGX_HTTP_RAMPART_IDLE_MAX        64
#define NGX_HTTP_RAMPART_IDLE_BODY_MAX   65536


typedef struct {
    ngx_str_t                  path;       /* full path of the engine config */
    rampart_ruleset           *ruleset;
} ngx_http_rampart_loaded_t;


typedef struct {
    ngx_array_t                loaded;     /* ngx_http_rampart_loaded_t: one per config path */
    rampart_ruleset           *builtin;    /* rampart_ruleset_default(), compiled when needed */
    ngx_int_t                  request_id; /* index of $request_id */
} ngx_http_rampart_main_conf_t;


typedef struct {
    ngx_flag_t                 enable;
    rampart_ruleset           *ruleset;    /* NGX_CONF_UNSET_PTR until set or merged */
    ngx_str_t                  config;     /* its path, for logs; empty: built-in */
    ngx_uint_t                 mode;       /* NGX_HTTP_RAMPART_MODE_* */
    ngx_open_file_t           *audit;      /* NULL: off */
} ngx_http_rampart_loc_conf_t;


typedef struct {
    rampart_tx                        *tx;
    size_t                             body;    /* body bytes fed to tx */
    ngx_http_rampart_loc_conf_t       *lcf;     /* the location that inspected the request */
    ngx_int_t                          status;  /* NGX_DONE while the body is read, then
                                                   NGX_DECLINED or the status to answer */
} ngx_http_rampart_ctx_t;


static ngx_int_t ngx_http_rampart_handler(ngx_http_request_t *r);
static void ngx_http_rampart_exit_process(ngx_cycle_t *cycle);
static void ngx_http_rampart_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_rampart_init(ngx_conf_t *cf);
static void *ngx_http_rampart_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_rampart_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_rampart_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_rampart_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_rampart_audit_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_enum_t  ngx_http_rampart_modes[] = {
    { ngx_string("block"), NGX_HTTP_RAMPART_MODE_BLOCK },
    { ngx_string("detect"), NGX_HTTP_RAMPART_MODE_DETECT },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_rampart_commands[] = {

    { ngx_string("rampart"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_rampart_loc_conf_t, enable),
      NULL },

    { ngx_string("rampart_config"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_rampart_config,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("rampart_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_rampart_loc_conf_t, mode),
      &ngx_http_rampart_modes },

    { ngx_string("rampart_audit_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_rampart_audit_log,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_rampart_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_rampart_init,                 /* postconfiguration */

    ngx_http_rampart_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_rampart_create_loc_conf,      /* create location configuration */
    ngx_http_rampart_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_rampart_module = {
    NGX_MODULE_V1,
    &ngx_http_rampart_module_ctx,          /* module context */
    ngx_http_rampart_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_rampart_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static const char *
ngx_http_rampart_result_name(rampart_result rc)
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
    default: return "unknown result";
    }
}


static const char *
ngx_http_rampart_limit_name(rampart_limit limit)
{
    switch (limit) {
    case RAMPART_LIMIT_NONE: return "";
    case RAMPART_LIMIT_BODY_BYTES: return "max_body_bytes";
    case RAMPART_LIMIT_ARGS: return "max_args";
    case RAMPART_LIMIT_HEADERS: return "max_headers";
    case RAMPART_LIMIT_HEADER_BYTES: return "max_header_bytes";
    case RAMPART_LIMIT_URI_BYTES: return "max_uri_bytes";
    case RAMPART_LIMIT_JSON_DEPTH: return "max_json_depth";
    case RAMPART_LIMIT_MULTIPART_PARTS: return "max_multipart_parts";
    default: return "(unknown)";
    }
}


/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */


/* The cycle's pool is destroyed when the cycle ends: after a successful
 * reload (the old cycle, in the master), when a reload fails (the new,
 * half-built cycle) and when a worker exits. Each drops its references. */
static void
ngx_http_rampart_release_rulesets(void *data)
{
    ngx_http_rampart_main_conf_t *mcf = data;

    ngx_uint_t                  i;
    ngx_http_rampart_loaded_t  *loaded;

    loaded = mcf->loaded.elts;
    for (i = 0; i < mcf->loaded.nelts; i++) {
        rampart_ruleset_release(loaded[i].ruleset);
        loaded[i].ruleset = NULL;
    }
    mcf->loaded.nelts = 0;

    rampart_ruleset_release(mcf->builtin);
    mcf->builtin = NULL;

#if defined(__GLIBC__)
    /* A compiled ruleset is many small allocations. Freed, they stay in
     * glibc's heap, fragmented between the next cycle's, and each reload
     * leaves the master larger than the last. Give free pages back. */
    malloc_trim(0);
#endif
}


static void *
ngx_http_rampart_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_rampart_main_conf_t  *mcf;
    ngx_pool_cleanup_t            *cln;

    if (rampart_abi_version() >> 16 != RAMPART_ABI_VERSION >> 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "rampart: the library has ABI version %uD.%uD, "
                           "this module was built for %uD.x",
                           rampart_abi_version() >> 16,
                           rampart_abi_version() & 0xffff,
                           (uint32_t) (RAMPART_ABI_VERSION >> 16));
        return NULL;
    }

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_rampart_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->loaded, cf->pool, 2,
                       sizeof(ngx_http_rampart_loaded_t))
        != NGX_OK)
    {
        return NULL;
    }

    mcf->request_id = NGX_ERROR;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_rampart_release_rulesets;
    cln->data = mcf;

    return mcf;
}


static void *
ngx_http_rampart_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_rampart_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_rampart_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* set by ngx_pcalloc(): conf->config = { 0, NULL } */

    conf->enable = NGX_CONF_UNSET;
    conf->ruleset = NGX_CONF_UNSET_PTR;
    conf->mode = NGX_CONF_UNSET_UINT;
    conf->audit = NGX_CONF_UNSET_PTR;

    return conf;
}


/* Logs a failed compile or load: the library's message names the rule or
 * config file, line and column; nginx adds its own file and line. */
static void
ngx_http_rampart_log_load_error(ngx_conf_t *cf, ngx_str_t *what,
    rampart_result rc, rampart_error *err)
{
    const char  *msg;
    size_t       len;

    msg = err ? rampart_error_message(err) : NULL;

    if (msg == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "rampart: cannot load %V: %s", what,
                           ngx_http_rampart_result_name(rc));
        return;
    }

    len = ngx_strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r')) {
        len--;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "rampart: cannot load %V: %*s",
                       what, len, msg);
}


static rampart_ruleset *
ngx_http_rampart_builtin(ngx_conf_t *cf, ngx_http_rampart_main_conf_t *mcf)
{
    rampart_result  rc;
    ngx_str_t       what = ngx_string("the built-in rules");

    if (mcf->builtin != NULL) {
        return mcf->builtin;
    }

    rc = rampart_ruleset_default(&mcf->builtin);
    if (rc != RAMPART_RESULT_OK) {
        mcf->builtin = NULL;
        ngx_http_rampart_log_load_error(cf, &what, rc, NULL);
        return NULL;
    }

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                  "rampart %s: %uz rules loaded from the built-in rule set",
                  rampart_version(),
                  rampart_ruleset_rule_count(mcf->builtin));

    return mcf->builtin;
}


static char *
ngx_http_rampart_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_rampart_loc_conf_t *lcf = conf;

    ngx_str_t                     *value, path;
    ngx_uint_t                     i;
    rampart_result                 rc;
    rampart_error                 *err;
    rampart_ruleset               *rs;
    ngx_http_rampart_loaded_t     *loaded;
    ngx_http_rampart_main_conf_t  *mcf;

    if (lcf->ruleset != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (path.len == 0) {
        return "needs a path";
    }

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_rampart_module);

    /* One compile per config path and cycle, however many locations use it. */
    loaded = mcf->loaded.elts;
    for (i = 0; i < mcf->loaded.nelts; i++) {
        if (loaded[i].path.len == path.len
            && ngx_strncmp(loaded[i].path.data, path.data, path.len) == 0)
        {
            lcf->ruleset = loaded[i].ruleset;
            lcf->config = loaded[i].path;
            return NGX_CONF_OK;
        }
    }

    err = NULL;
    rs = NULL;
    rc = rampart_ruleset_load((const char *) path.data, path.len, &rs, &err);
    if (rc != RAMPART_RESULT_OK) {
        ngx_http_rampart_log_load_error(cf, &path, rc, err);
        rampart_error_free(err);
        return NGX_CONF_ERROR;
    }

    loaded = ngx_array_push(&mcf->loaded);
    if (loaded == NULL) {
        rampart_ruleset_release(rs);
        return NGX_CONF_ERROR;
    }

    loaded->path = path;
    loaded->ruleset = rs;

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                  "rampart %s: %uz rules loaded from \"%V\"",
                  rampart_version(), rampart_ruleset_rule_count(rs), &path);

    lcf->ruleset = rs;
    lcf->config = path;

    return NGX_CONF_OK;
}


static char *
ngx_http_rampart_audit_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_rampart_loc_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->audit != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->audit = NULL;
        return NGX_CONF_OK;
    }

    /* Opened by the master for the cycle (append mode, created if missing),
     * inherited by every worker, reopened on `nginx -s reopen` like
     * access_log files. */
    lcf->audit = ngx_conf_open_file(cf->cycle, &value[1]);
    if (lcf->audit == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_rampart_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_rampart_loc_conf_t *prev = parent;
    ngx_http_rampart_loc_conf_t *conf = child;

    ngx_http_rampart_main_conf_t  *mcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_RAMPART_MODE_ENGINE);
    ngx_conf_merge_ptr_value(conf->audit, prev->audit, NULL);

    if (conf->ruleset == NGX_CONF_UNSET_PTR) {
        conf->ruleset = prev->ruleset;
        conf->config = prev->config;
    }

    if (conf->ruleset == NGX_CONF_UNSET_PTR) {
        conf->ruleset = NULL;
    }

    if (conf->enable && conf->ruleset == NULL) {
        mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_rampart_module);
        conf->ruleset = ngx_http_rampart_builtin(cf, mcf);
        if (conf->ruleset == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_rampart_init(ngx_conf_t *cf)
{
    ngx_str_t                      name = ngx_string("request_id");
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_rampart_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_rampart_module);

    mcf->request_id = ngx_http_get_variable_index(cf, &name);
    if (mcf->request_id == NGX_ERROR) {
        return NGX_ERROR;
    }

    /*
     * The REWRITE phase, not ACCESS. Handlers of a phase run in the reverse
     * order of registration, and dynamic modules register after the
     * built-in rewrite module, so this runs before `return` and `rewrite`
     * of the location. An ACCESS handler would miss locations answered by
     * `return` (rewrite phase) and, under `satisfy any`, every request a
     * matching `allow` lets in.
     */
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_rampart_handler;

    return NGX_OK;
}


/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */


/*
 * This worker's idle transactions (workers are single-threaded). Each holds
 * a reference to the ruleset of its last request; a worker process has one
 * configuration cycle, so that is a ruleset of this worker's cycle.
 */
static rampart_tx  *ngx_http_rampart_idle[NGX_HTTP_RAMPART_IDLE_MAX];
static ngx_uint_t   ngx_http_rampart_nidle;


/* A transaction for a new request on `rs`: an idle one reset to it, or a
 * new one. NULL if the library fails. */
static rampart_tx *
ngx_http_rampart_tx_get(rampart_ruleset *rs)
{
    rampart_tx  *tx;

    while (ngx_http_rampart_nidle > 0) {
        tx = ngx_http_rampart_idle[--ngx_http_rampart_nidle];

        if (rampart_tx_reset_with(tx, rs) == RAMPART_RESULT_OK) {
            return tx;
        }

        rampart_tx_free(tx);
    }

    return rampart_tx_new(rs);
}


static void
ngx_http_rampart_cleanup(void *data)
{
    ngx_http_rampart_ctx_t *ctx = data;

    if (ctx->tx == NULL) {
        return;
    }

    if (ngx_http_rampart_nidle < NGX_HTTP_RAMPART_IDLE_MAX
        && ctx->body <= NGX_HTTP_RAMPART_IDLE_BODY_MAX)
    {
        /* Forget the request now; keep the memory for the next one. */
        rampart_tx_reset(ctx->tx);
        ngx_http_rampart_idle[ngx_http_rampart_nidle++] = ctx->tx;

    } else {
        rampart_tx_free(ctx->tx);
    }

    ctx->tx = NULL;
}


static void
ngx_http_rampart_exit_process(ngx_cycle_t *cycle)
{
    while (ngx_http_rampart_nidle > 0) {
        rampart_tx_free(ngx_http_rampart_idle[--ngx_http_rampart_nidle]);
    }
}


/*
 * The request's context. An internal redirect (try_files, error_page, index,
 * rewrite ... last) clears module contexts; the pool cleanup still holds
 * ours, so the request is not inspected twice (and a blocked request's
 * error_page location is not blocked again).
 */
static ngx_http_rampart_ctx_t *
ngx_http_rampart_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_rampart_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_rampart_module);
    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_rampart_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_rampart_module);
            return ctx;
        }
    }

    return NULL;
}


/* Whether this location blocks the request, given the verdict. */
static ngx_uint_t
ngx_http_rampart_blocks(ngx_http_rampart_loc_conf_t *lcf, rampart_verdict *v)
{
    switch (lcf->mode) {
    case NGX_HTTP_RAMPART_MODE_BLOCK:
        return v->would_block != 0;
    case NGX_HTTP_RAMPART_MODE_DETECT:
        return 0;
    default:
        return v->action == RAMPART_ACTION_BLOCK;
    }
}


static ngx_int_t
ngx_http_rampart_status(rampart_verdict *v)
{
    /* A status nginx can answer as an error (444 closes the connection). */
    if (v->status >= NGX_HTTP_SPECIAL_RESPONSE && v->status <= 599) {
        return (ngx_int_t) v->status;
    }

    return NGX_HTTP_FORBIDDEN;
}


/*
 * Replaces the value of the first `"key":"` in an audit line. Every `"`
 * inside a JSON string value is escaped, so `"key":"` with these exact bytes
 * can only be a key. Returns the new length, or 0 when the key is absent or
 * `cap` is too small.
 */
static size_t
ngx_http_rampart_json_set(u_char *line, size_t len, size_t cap,
    const char *key, const char *value)
{
    u_char  *p, *end, *v, *q;
    size_t   klen, vlen, old;

    klen = ngx_strlen(key);
    vlen = ngx_strlen(value);
    end = line + len;

    for (p = line; p + klen <= end; p++) {
        if (ngx_strncmp(p, key, klen) == 0) {
            break;
        }
    }

    if (p + klen > end) {
        return 0;
    }

    v = p + klen;
    q = ngx_strlchr(v, end, '"');
    if (q == NULL) {
        return 0;
    }

    old = q - v;
    if (len - old + vlen > cap) {
        return 0;
    }

    ngx_memmove(v + vlen, q, end - q);
    ngx_memcpy(v, value, vlen);

    return len - old + vlen;
}


/* Writes the audit line: one write() on a file opened with O_APPEND, so lines
 * from all workers land whole, one after another. */
static void
ngx_http_rampart_write_audit(ngx_http_request_t *r, ngx_http_rampart_ctx_t *ctx,
    ngx_uint_t blocked, ngx_uint_t overridden)
{
    static u_char                  stack[NGX_HTTP_RAMPART_AUDIT_STACK];

    u_char                        *line;
    size_t                         len, cap, n;
    ssize_t                        written;
    ngx_http_variable_value_t     *id;
    ngx_http_rampart_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_rampart_module);

    /* $request_id, as the access log can write it, to join the two logs. */
    if (mcf->request_id != NGX_ERROR) {
        id = ngx_http_get_indexed_variable(r, mcf->request_id);
        if (id != NULL && !id->not_found && id->len) {
            (void) rampart_tx_set_request_id(ctx->tx, (const char *) id->data,
                                             id->len);
        }
    }

    line = stack;
    cap = sizeof(stack);
    len = rampart_tx_audit_json(ctx->tx, (char *) line, cap);

    if (len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "rampart: no audit line (transaction poisoned)");
        return;
    }

    if (len + 16 > cap) {
        /* Room for the line, its NUL and an override of "action"/"mode". */
        cap = len + 16;
        line = ngx_pnalloc(r->pool, cap);
        if (line == NULL) {
            return;
        }

        if (rampart_tx_audit_json(ctx->tx, (char *) line, cap) != len) {
            return;
        }
    }

    if (overridden) {
        /* rampart_mode overrode the engine's mode: say what was done. */
        n = ngx_http_rampart_json_set(line, len, cap, "\"action\":\"",
                                      blocked ? "block" : "log");
        len = n ? n : len;
        n = ngx_http_rampart_json_set(line, len, cap, "\"mode\":\"",
                                      blocked ? "block" : "detect");
        len = n ? n : len;
    }

    written = ngx_write_fd(ctx->lcf->audit->fd, line, len);

    if (written == -1) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      ngx_write_fd_n " to \"%V\" failed",
                      &ctx->lcf->audit->name);

    } else if ((size_t) written != len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      ngx_write_fd_n " to \"%V\" was incomplete: %z of %uz",
                      &ctx->lcf->audit->name, written, len);
    }
}


/* The error log line of a flagged request: what was done, and why. */
static void
ngx_http_rampart_log_verdict(ngx_http_request_t *r, ngx_http_rampart_ctx_t *ctx,
    rampart_verdict *v, ngx_uint_t blocked)
{
    u_char         buf[1024], *p, *last;
    size_t         i, n;
    ngx_uint_t     level;
    rampart_match  m;

    p = buf;
    last = buf + sizeof(buf);

    n = rampart_tx_match_count(ctx->tx);
    for (i = 0; i < n && p < last; i++) {
        if (rampart_tx_match(ctx->tx, i, &m) != RAMPART_RESULT_OK) {
            break;
        }

        p = ngx_slprintf(p, last, "%s%uD", i ? ", " : "; rules ", m.rule_id);
        if (m.field_len) {
            p = ngx_slprintf(p, last, " in %*s", m.field_len, m.field);
        }
        p = ngx_slprintf(p, last, " \"%*s\"", m.message_len, m.message);
    }

    level = blocked ? NGX_LOG_ERR : NGX_LOG_WARN;

    ngx_log_error(level, r->connection->log, 0,
                  "rampart: %s, status %uD, score %uD%s%s%*s",
                  blocked ? "blocked"
                          : (v->would_block ? "detected (not blocked)"
                                            : "logged"),
                  v->status, v->score,
                  v->limit != RAMPART_LIMIT_NONE ? ", over the limit " : "",
                  ngx_http_rampart_limit_name(v->limit),
                  p - buf, buf);
}


/*
 * Acts on a verdict. Returns NGX_DECLINED to let the request go on, or the
 * status to answer with. `last`: no later phase will be evaluated, so a
 * flagged request is logged now.
 */
static ngx_int_t
ngx_http_rampart_verdict(ngx_http_request_t *r, ngx_http_rampart_ctx_t *ctx,
    rampart_verdict *v, ngx_uint_t last)
{
    ngx_uint_t  blocked, overridden;

    blocked = ngx_http_rampart_blocks(ctx->lcf, v);

    if (!blocked && !last) {
        return NGX_DECLINED;
    }

    if (v->action != RAMPART_ACTION_ALLOW || v->would_block || blocked) {
        overridden = blocked != (v->action == RAMPART_ACTION_BLOCK);

        ngx_http_rampart_log_verdict(r, ctx, v, blocked);

        if (ctx->lcf->audit != NULL) {
            ngx_http_rampart_write_audit(r, ctx, blocked, overridden);
        }
    }

    return blocked ? ngx_http_rampart_status(v) : NGX_DECLINED;
}


/* A library call failed (a bug in rampart, caught at its boundary): fail
 * closed rather than let an uninspected request through. */
static ngx_int_t
ngx_http_rampart_failed(ngx_http_request_t *r, const char *call,
    rampart_result rc)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "rampart: %s() failed: %s", call,
                  ngx_http_rampart_result_name(rc));

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_rampart_feed_headers(ngx_http_request_t *r, ngx_http_rampart_ctx_t *ctx)
{
    rampart_tx        *tx = ctx->tx;
    rampart_result     rc;
    ngx_uint_t         i;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;

    rc = rampart_tx_set_request(tx,
                                (const char *) r->method_name.data,
                                r->method_name.len,
                                (const char *) r->unparsed_uri.data,
                                r->unparsed_uri.len,
                                (const char *) r->http_protocol.data,
                                r->http_protocol.len);
    if (rc != RAMPART_RESULT_OK) {
        return ngx_http_rampart_failed(r, "rampart_tx_set_request", rc);
    }

    rc = rampart_tx_set_client(tx, (const char *) r->connection->addr_text.data,
                               r->connection->addr_text.len);
    if (rc != RAMPART_RESULT_OK) {
        return ngx_http_rampart_failed(r, "rampart_tx_set_client", rc);
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        rc = rampart_tx_set_scheme(tx, "https", 5);
        if (rc != RAMPART_RESULT_OK) {
            return ngx_http_rampart_failed(r, "rampart_tx_set_scheme", rc);
        }
    }
#endif

    /* Every header as received, in order, duplicates included. */
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        rc = rampart_tx_add_header(tx, (const char *) h[i].key.data,
                                   h[i].key.len,
                                   (const char *) h[i].value.data,
                                   h[i].value.len);
        if (rc != RAMPART_RESULT_OK) {
            return ngx_http_rampart_failed(r, "rampart_tx_add_header", rc);
        }
    }

    return NGX_OK;
}


/*
 * Feeds the whole body to the transaction: memory buffers as they are, temp
 * file parts in chunks. The engine keeps max_body_bytes of it and applies its
 * over-limit action to the rest; nothing is skipped here.
 */
static ngx_int_t
ngx_http_rampart_feed_body(ngx_http_request_t *r, ngx_http_rampart_ctx_t *ctx)
{
    static u_char    chunk[NGX_HTTP_RAMPART_FILE_CHUNK];

    off_t            offset, saved;
    size_t           size;
    ssize_t          n;
    ngx_buf_t       *b;
    ngx_chain_t     *cl;
    rampart_result   rc;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            if (b->last > b->pos) {
                ctx->body += b->last - b->pos;
                rc = rampart_tx_append_body(ctx->tx, b->pos, b->last - b->pos);
                if (rc != RAMPART_RESULT_OK) {
                    return ngx_http_rampart_failed(r, "rampart_tx_append_body",
                                                   rc);
                }
            }
            continue;
        }

        /* ngx_read_file() moves file->offset, which nginx also uses when it
         * writes the temp file: put it back afterwards. */
        saved = b->file->offset;

        for (offset = b->file_pos; offset < b->file_last; offset += n) {
            size = (size_t) ngx_min(b->file_last - offset,
                                    (off_t) sizeof(chunk));

            n = ngx_read_file(b->file, chunk, size, offset);
            if (n <= 0) {
                b->file->offset = saved;
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "rampart: cannot read the request body from "
                              "\"%V\"", &b->file->name);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ctx->body += (size_t) n;
            rc = rampart_tx_append_body(ctx->tx, chunk, (size_t) n);
            if (rc != RAMPART_RESULT_OK) {
                b->file->offset = saved;
                return ngx_http_rampart_failed(r, "rampart_tx_append_body", rc);
            }
        }

        b->file->offset = saved;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_rampart_evaluate(ngx_http_request_t *r, ngx_http_rampart_ctx_t *ctx,
    rampart_phase phase)
{
    rampart_result   rc;
    rampart_verdict  v;

    rc = rampart_tx_evaluate(ctx->tx, phase, &v);
    if (rc != RAMPART_RESULT_OK) {
        return ngx_http_rampart_failed(r, "rampart_tx_evaluate", rc);
    }

    return ngx_http_rampart_verdict(r, ctx, &v,
                                    phase == RAMPART_PHASE_REQUEST_BODY);
}


static void
ngx_http_rampart_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_http_rampart_ctx_t  *ctx;

    ctx = ngx_http_rampart_get_ctx(r);

    rc = ngx_http_rampart_feed_body(r, ctx);
    if (rc == NGX_OK) {
        rc = ngx_http_rampart_evaluate(r, ctx, RAMPART_PHASE_REQUEST_BODY);
    }

    ctx->status = rc;

    /* Resume the phases: the handler is entered again and answers
     * ctx->status (the same pattern as ngx_http_mirror_module). */
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_rampart_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_rampart_ctx_t       *ctx;
    ngx_http_rampart_loc_conf_t  *lcf;

    if (r != r->main) {
        return NGX_DECLINED;    /* subrequests: the main request was inspected */
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_rampart_module);
    if (!lcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_rampart_get_ctx(r);
    if (ctx != NULL) {
        /* Entered again: after the body was read (NGX_DONE while it still
         * is), or after an internal redirect. A block is answered once. */
        rc = ctx->status;
        if (rc != NGX_DONE) {
            ctx->status = NGX_DECLINED;
        }
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_rampart_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tx = ngx_http_rampart_tx_get(lcf->ruleset);
    if (ctx->tx == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "rampart: rampart_tx_new() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->lcf = lcf;
    ctx->status = NGX_DECLINED;
    cln->handler = ngx_http_rampart_cleanup;
    cln->data = ctx;
    ngx_http_set_ctx(r, ctx, ngx_http_rampart_module);

    rc = ngx_http_rampart_feed_headers(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        /* No body: one evaluation covers both phases. */
        return ngx_http_rampart_evaluate(r, ctx, RAMPART_PHASE_REQUEST_BODY);
    }

    /* Decide what the request line and headers can before reading a body. */
    rc = ngx_http_rampart_evaluate(r, ctx, RAMPART_PHASE_REQUEST_HEADERS);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ctx->status = NGX_DONE;

    rc = ngx_http_read_client_request_body(r, ngx_http_rampart_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /* The body handler may already have run (body in the header buffer);
     * either way it resumes the phases. Drop the reference the body read
     * took. */
    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}
