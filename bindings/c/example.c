/*
 * example.c: a small host of rampart's C ABI.
 *
 * It does what a proxy module does, in miniature:
 *
 *   1. checks at start-up that the library speaks the ABI this file was
 *      compiled against (include/rampart.h);
 *   2. compiles a ruleset: the built-in default rules, or the engine config
 *      (rampart.toml) named on the command line, printing file:line:col when
 *      a rule or the config is wrong;
 *   3. evaluates a few requests with one transaction that is reset between
 *      them: request line, headers, body in chunks, one evaluation per phase;
 *   4. prints each verdict, the matched rules (id, field, message) and the
 *      audit line, and frees everything it was given.
 *
 * Build it against an installed rampart:
 *
 *   cc -std=c99 -Wall -Wextra example.c $(pkg-config --cflags --libs rampart)
 *
 * or in the source tree, after `cargo build --release`:
 *
 *   cc -std=c99 -Wall -Wextra -Iinclude bindings/c/example.c \
 *      -Ltarget/release -lrampart -Wl,-rpath,"$PWD/target/release"
 *
 * Usage: example [CONFIG.toml]. Exit status: 0 when every verdict is what the
 * default rules should give, 1 otherwise (or when the config fails to load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rampart.h"

/*
 * rampart takes strings as (pointer, length) pairs and never needs a NUL.
 * S() turns a string literal into such a pair.
 */
#define S(literal) (literal), (sizeof(literal) - 1)

/* One request, as a proxy would have received it. */
struct request {
    const char *name;        /* for the printout */
    const char *method;
    const char *uri;
    const char *headers[4][2]; /* name, value; a NULL name ends the list */
    const char *body;        /* NULL: no body */
    size_t chunk;            /* feed the body in chunks of this many bytes */
    rampart_action expect;   /* what the default rules should decide */
};

static const char *action_name(rampart_action action)
{
    switch (action) {
    case RAMPART_ACTION_ALLOW: return "allow";
    case RAMPART_ACTION_BLOCK: return "block";
    case RAMPART_ACTION_LOG: return "log";
    default: return "?";
    }
}

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
    default: return "unknown result";
    }
}

/*
 * Prints a failed load or compile. The error is owned by us: free it once
 * printed. Its strings are NUL-terminated and live as long as the error.
 */
static void report_error(FILE *to, const char *what, rampart_result rc, rampart_error *err)
{
    fprintf(to, "%s: %s\n", what, result_name(rc));
    if (err != NULL) {
        /* The message is the full report: "file:line:col: error: ...", the
         * source line and a caret, for every error found. */
        fprintf(to, "%s\n", rampart_error_message(err));
        /* The place of the first error, for hosts that log it in fields
         * (line and column are 0 when the error concerns a whole file). */
        fprintf(to, "first error at %s:%u:%u\n", rampart_error_file(err),
                (unsigned)rampart_error_line(err), (unsigned)rampart_error_column(err));
        rampart_error_free(err);
    }
}

/* Prints the verdict and every matched rule. */
static void print_verdict(const rampart_tx *tx, const rampart_verdict *v)
{
    size_t i, n;

    printf("  verdict: %s", action_name(v->action));
    if (v->would_block)
        printf(" (status %u)", (unsigned)v->status);
    printf(", score %u, %u match(es)", (unsigned)v->score, (unsigned)v->match_count);
    if (v->limit != RAMPART_LIMIT_NONE)
        printf(", over limit %u", (unsigned)v->limit);
    printf("\n");

    n = rampart_tx_match_count(tx);
    for (i = 0; i < n; i++) {
        rampart_match m;
        if (rampart_tx_match(tx, i, &m) != RAMPART_RESULT_OK)
            continue;
        /* message, field and snippet are views into the transaction: not
         * NUL-terminated (print them with "%.*s"), valid until the
         * transaction is reset or freed. Copy them to keep them longer. */
        printf("  rule %u in %.*s: %.*s\n", (unsigned)m.rule_id, (int)m.field_len, m.field,
               (int)m.message_len, m.message);
    }
}

/*
 * Prints the audit event: one JSON object and a newline. The caller owns the
 * buffer; asking with cap 0 gives the length, and the library writes only
 * when the whole line fits (plus a NUL when there is room for it).
 */
static void print_audit(const rampart_tx *tx)
{
    size_t len = rampart_tx_audit_json(tx, NULL, 0);
    char *line = (char *)malloc(len + 1); /* the cast lets C++ hosts copy this */

    if (line == NULL)
        return;
    if (rampart_tx_audit_json(tx, line, len + 1) == len)
        printf("  audit: %s", line); /* NUL-terminated: there was room */
    free(line);
}

/*
 * Feeds one request to the transaction and evaluates it. Returns the final
 * action, or -1 when a call fails.
 */
static int inspect(rampart_tx *tx, const struct request *req)
{
    rampart_verdict v;
    rampart_result rc;
    size_t i;

    printf("%s: %s %s\n", req->name, req->method, req->uri);

    /* The request line: method, target as received, protocol. */
    rc = rampart_tx_set_request(tx, req->method, strlen(req->method), req->uri, strlen(req->uri),
                                S("HTTP/1.1"));
    if (rc == RAMPART_RESULT_OK)
        rc = rampart_tx_set_client(tx, S("203.0.113.7"));
    if (rc == RAMPART_RESULT_OK)
        rc = rampart_tx_set_request_id(tx, req->name, strlen(req->name));
    for (i = 0; rc == RAMPART_RESULT_OK && i < 4 && req->headers[i][0] != NULL; i++)
        rc = rampart_tx_add_header(tx, req->headers[i][0], strlen(req->headers[i][0]),
                                   req->headers[i][1], strlen(req->headers[i][1]));
    if (rc != RAMPART_RESULT_OK) {
        fprintf(stderr, "  feeding the request failed: %s\n", result_name(rc));
        return -1;
    }

    /* Phase 1: the request line and headers are known. A proxy evaluates
     * here, before it reads the body, and may answer at once. */
    rc = rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v);
    if (rc != RAMPART_RESULT_OK) {
        fprintf(stderr, "  evaluate failed: %s\n", result_name(rc));
        return -1;
    }
    if (v.action == RAMPART_ACTION_BLOCK) {
        printf("  blocked before the body was read\n");
    } else {
        /* The body arrives in chunks; the transaction copies what it keeps,
         * so each chunk may be reused by the host as soon as the call returns. */
        if (req->body != NULL) {
            size_t len = strlen(req->body), off;
            for (off = 0; off < len; off += req->chunk) {
                size_t n = len - off < req->chunk ? len - off : req->chunk;
                rc = rampart_tx_append_body(tx, (const uint8_t *)req->body + off, n);
                if (rc != RAMPART_RESULT_OK) {
                    fprintf(stderr, "  append_body failed: %s\n", result_name(rc));
                    return -1;
                }
            }
        }
        /* Phase 2: the body is known (call it for requests without one too). */
        rc = rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v);
        if (rc != RAMPART_RESULT_OK) {
            fprintf(stderr, "  evaluate failed: %s\n", result_name(rc));
            return -1;
        }
    }
    print_verdict(tx, &v);
    print_audit(tx);
    return (int)v.action;
}

int main(int argc, char **argv)
{
    static const struct request requests[] = {
        {"benign-product-page", "GET", "/products?category=shoes&sort=price&page=2",
         {{"Host", "shop.example"}, {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
          {"Accept", "text/html"}, {NULL, NULL}},
         NULL, 1, RAMPART_ACTION_ALLOW},
        {"sqli-in-query", "GET", "/item?id=1%27%20or%201%3D1--",
         {{"Host", "shop.example"}, {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
          {NULL, NULL}},
         NULL, 1, RAMPART_ACTION_BLOCK},
        {"benign-form-post", "POST", "/account/profile",
         {{"Host", "shop.example"}, {"Content-Type", "application/x-www-form-urlencoded"},
          {NULL, NULL}},
         "name=Jos%C3%A9+O%27Brien&city=Z%C3%BCrich&newsletter=yes", 7, RAMPART_ACTION_ALLOW},
        {"xss-in-form-body", "POST", "/comments",
         {{"Host", "shop.example"}, {"Content-Type", "application/x-www-form-urlencoded"},
          {NULL, NULL}},
         "author=eve&text=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E", 5,
         RAMPART_ACTION_BLOCK},
    };
    rampart_ruleset *ruleset = NULL;
    rampart_error *err = NULL;
    rampart_result rc;
    rampart_tx *tx;
    size_t i, blocked = 0;
    int ok = 1;

    /* 1. The ABI check: the major version must match the header's. */
    if (rampart_abi_version() >> 16 != RAMPART_ABI_VERSION >> 16) {
        fprintf(stderr, "librampart speaks ABI %u.%u, this program was built for %u.%u\n",
                (unsigned)(rampart_abi_version() >> 16), (unsigned)(rampart_abi_version() & 0xffff),
                (unsigned)(RAMPART_ABI_VERSION >> 16), (unsigned)(RAMPART_ABI_VERSION & 0xffff));
        return 1;
    }
    printf("rampart %s, ABI %u.%u\n", rampart_version(), (unsigned)(rampart_abi_version() >> 16),
           (unsigned)(rampart_abi_version() & 0xffff));

    /* 2. A ruleset: we own it and release it at the end. */
    if (argc > 1) {
        rc = rampart_ruleset_load(argv[1], strlen(argv[1]), &ruleset, &err);
        if (rc != RAMPART_RESULT_OK) {
            report_error(stderr, argv[1], rc, err);
            return 1;
        }
    } else {
        rc = rampart_ruleset_default(&ruleset);
        if (rc != RAMPART_RESULT_OK) {
            report_error(stderr, "the default rules", rc, NULL);
            return 1;
        }
    }
    printf("%zu rules\n", rampart_ruleset_rule_count(ruleset));

    /* How a mistake is reported: a rule with a misspelt transform. */
    {
        static const char bad[] = "rule 1 \"demo\" {\n"
                                  "    inspect   args\n"
                                  "    transform url_decod\n"
                                  "    match     contains \"x\"\n"
                                  "}\n";
        rampart_ruleset *unused = NULL;
        rc = rampart_ruleset_compile(S(bad), &unused, &err);
        if (rc == RAMPART_RESULT_OK) {
            rampart_ruleset_release(unused); /* not expected */
            ok = 0;
        } else {
            report_error(stdout, "a rule with a typo, on purpose", rc, err);
        }
    }

    /* 3. One transaction, reused: reset keeps its memory for the next request.
     * It holds its own reference to the ruleset. */
    tx = rampart_tx_new(ruleset);
    if (tx == NULL) {
        rampart_ruleset_release(ruleset);
        return 1;
    }
    for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        int action = inspect(tx, &requests[i]);
        /* A config on the command line may say otherwise (detect mode, other
         * rules), so only the default rules are held to the expectation. */
        if (action < 0 || (argc <= 1 && action != (int)requests[i].expect)) {
            fprintf(stderr, "  unexpected verdict for %s\n", requests[i].name);
            ok = 0;
        }
        blocked += action == (int)RAMPART_ACTION_BLOCK;
        rampart_tx_reset(tx);
    }
    printf("%zu requests, %zu blocked\n", sizeof(requests) / sizeof(requests[0]), blocked);

    /* 4. Ownership: free the transaction, release our ruleset reference. */
    rampart_tx_free(tx);
    rampart_ruleset_release(ruleset);
    return ok ? 0 : 1;
}
