/*
 * test_api.c: the C test suite of rampart's C ABI (include/rampart.h).
 *
 * Plain C99 and POSIX, no framework: each test_* function checks one part of
 * the contract with CHECK* macros, which count failures and print
 * file:line, the expression and the values; main() runs them all and exits 1
 * when any check failed. Every function of the header is called, with every
 * documented NULL and error case.
 *
 * Usage: test_api [SCRATCH_DIR]. Config and rule files are written into
 * SCRATCH_DIR (default: a new directory under $TMPDIR or /tmp, removed at the end).
 *
 * tests/c_api.rs builds this with `cc -std=c99 -Wall -Wextra -Werror -pedantic`
 * and runs it natively, under valgrind and under ASan.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rampart.h"

/* ---- a tiny test harness ---------------------------------------------- */

static int g_checks;
static int g_failures;
static const char *g_test = "";

static int check_(int ok, const char *expr, const char *file, int line)
{
    g_checks++;
    if (!ok) {
        g_failures++;
        fprintf(stderr, "%s:%d: [%s] check failed: %s\n", file, line, g_test, expr);
    }
    return ok;
}

static int check_u_(unsigned long got, unsigned long want, const char *expr, const char *file,
                    int line)
{
    g_checks++;
    if (got != want) {
        g_failures++;
        fprintf(stderr, "%s:%d: [%s] %s is %lu, expected %lu\n", file, line, g_test, expr, got,
                want);
        return 0;
    }
    return 1;
}

static const char *result_name(rampart_result rc)
{
    static const char *const names[] = {"OK", "NULL_ARGUMENT", "INVALID_ARGUMENT", "RULE_ERROR",
                                        "LIMIT_EXCEEDED", "BUFFER_TOO_SMALL", "PANIC",
                                        "POISONED", "IO", "TOO_LATE"};
    return rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "(unknown)";
}

static int check_rc_(rampart_result got, rampart_result want, const char *expr, const char *file,
                     int line)
{
    g_checks++;
    if (got != want) {
        g_failures++;
        fprintf(stderr, "%s:%d: [%s] %s returned %s, expected %s\n", file, line, g_test, expr,
                result_name(got), result_name(want));
        return 0;
    }
    return 1;
}

/* Does the (pointer, length) string `s` equal the C string `want`? */
static int check_bytes_(const void *s, size_t len, const char *want, const char *expr,
                        const char *file, int line)
{
    g_checks++;
    if (len != strlen(want) || (len > 0 && memcmp(s, want, len) != 0)) {
        g_failures++;
        fprintf(stderr, "%s:%d: [%s] %s is \"%.*s\", expected \"%s\"\n", file, line, g_test, expr,
                (int)len, s != NULL ? (const char *)s : "(null)", want);
        return 0;
    }
    return 1;
}

static int check_contains_(const char *hay, const char *needle, const char *expr,
                           const char *file, int line)
{
    g_checks++;
    if (hay == NULL || strstr(hay, needle) == NULL) {
        g_failures++;
        fprintf(stderr, "%s:%d: [%s] %s does not contain \"%s\":\n%s\n", file, line, g_test, expr,
                needle, hay != NULL ? hay : "(null)");
        return 0;
    }
    return 1;
}

#define CHECK(cond) check_((cond) != 0, #cond, __FILE__, __LINE__)
#define CHECK_U(got, want) check_u_((unsigned long)(got), (unsigned long)(want), #got, __FILE__, __LINE__)
#define CHECK_RC(expr, want) check_rc_((expr), (want), #expr, __FILE__, __LINE__)
#define CHECK_BYTES(ptr, len, want) check_bytes_((ptr), (len), (want), #ptr, __FILE__, __LINE__)
#define CHECK_CONTAINS(hay, needle) check_contains_((hay), (needle), #hay, __FILE__, __LINE__)

/* A string literal as a (pointer, length) pair. */
#define S(literal) (literal), (sizeof(literal) - 1)

/* ---- fixtures ---------------------------------------------------------- */

static char g_dir[1024];
static int g_own_dir;
static char g_files[32][1100];
static int g_file_count;

/* Writes `len` bytes to SCRATCH_DIR/name; returns the path (static storage). */
static const char *write_file_n(const char *name, const char *text, size_t len)
{
    char *path = g_files[g_file_count < 32 ? g_file_count : 31];
    FILE *f;

    if (g_file_count < 32)
        g_file_count++;
    snprintf(path, sizeof(g_files[0]), "%s/%s", g_dir, name);
    f = fopen(path, "wb");
    if (!CHECK(f != NULL))
        return path;
    CHECK_U(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *write_file(const char *name, const char *text)
{
    return write_file_n(name, text, strlen(text));
}

/* Compiles rule text that must compile. */
static rampart_ruleset *compile(const char *text)
{
    rampart_ruleset *rs = NULL;
    rampart_error *err = NULL;
    rampart_result rc = rampart_ruleset_compile(text, strlen(text), &rs, &err);

    if (!CHECK_RC(rc, RAMPART_RESULT_OK))
        fprintf(stderr, "%s\n", err != NULL ? rampart_error_message(err) : "(no error)");
    rampart_error_free(err);
    return rs;
}

/* Loads a config that must load. */
static rampart_ruleset *load(const char *path)
{
    rampart_ruleset *rs = NULL;
    rampart_error *err = NULL;
    rampart_result rc = rampart_ruleset_load(path, strlen(path), &rs, &err);

    if (!CHECK_RC(rc, RAMPART_RESULT_OK))
        fprintf(stderr, "%s\n", err != NULL ? rampart_error_message(err) : "(no error)");
    rampart_error_free(err);
    return rs;
}

static rampart_ruleset *default_rules(void)
{
    rampart_ruleset *rs = NULL;
    CHECK_RC(rampart_ruleset_default(&rs), RAMPART_RESULT_OK);
    return rs;
}

/* One request. Headers are "Name: value" strings, NULL-terminated list. */
struct request {
    const char *method;
    const char *uri;
    const char *const *headers;
    const char *body; /* NULL: none */
    size_t body_len;
    size_t chunk; /* body chunk size; 0: one chunk */
};

static const char *const no_headers[] = {NULL};
static const char *const browser[] = {"Host: shop.example",
                                      "User-Agent: Mozilla/5.0 (X11; Linux x86_64)", NULL};
static const char *const form[] = {"Host: shop.example",
                                   "Content-Type: application/x-www-form-urlencoded", NULL};
static const char *const json[] = {"Host: api.example", "Content-Type: application/json", NULL};

/* Feeds a request (request line, headers, body chunks); returns the first failure. */
static rampart_result feed(rampart_tx *tx, const struct request *r)
{
    rampart_result rc;
    size_t i;

    rc = rampart_tx_set_request(tx, r->method, strlen(r->method), r->uri, strlen(r->uri),
                                S("HTTP/1.1"));
    for (i = 0; rc == RAMPART_RESULT_OK && r->headers[i] != NULL; i++) {
        const char *h = r->headers[i];
        const char *colon = strchr(h, ':');
        size_t nlen = colon != NULL ? (size_t)(colon - h) : strlen(h);
        const char *value = colon != NULL ? colon + 2 : "";
        rc = rampart_tx_add_header(tx, h, nlen, value, strlen(value));
    }
    if (rc == RAMPART_RESULT_OK && r->body != NULL) {
        size_t chunk = r->chunk != 0 ? r->chunk : (r->body_len != 0 ? r->body_len : 1);
        size_t off;
        for (off = 0; rc == RAMPART_RESULT_OK && off < r->body_len; off += chunk) {
            size_t n = r->body_len - off < chunk ? r->body_len - off : chunk;
            rc = rampart_tx_append_body(tx, (const uint8_t *)r->body + off, n);
        }
    }
    return rc;
}

/* Feeds and evaluates both phases on a fresh transaction of `rs`; the
 * transaction is returned for its matches (the caller frees it). */
static rampart_tx *run(rampart_ruleset *rs, const struct request *r, rampart_verdict *v)
{
    rampart_tx *tx = rampart_tx_new(rs);

    memset(v, 0xab, sizeof *v);
    if (!CHECK(tx != NULL))
        return NULL;
    CHECK_RC(feed(tx, r), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, v), RAMPART_RESULT_OK);
    return tx;
}

static void check_reserved_zero(const rampart_verdict *v)
{
    size_t i;
    for (i = 0; i < sizeof(v->reserved) / sizeof(v->reserved[0]); i++)
        CHECK_U(v->reserved[i], 0);
}

/* Is the whole buffer valid UTF-8? (The audit line must be, whatever the request held.) */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, k, more;

    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80)
            more = 0;
        else if (c >= 0xc2 && c <= 0xdf)
            more = 1;
        else if (c >= 0xe0 && c <= 0xef)
            more = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3;
        else
            return 0;
        if (n - i <= more)
            return 0;
        for (k = 1; k <= more; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += more + 1;
    }
    return 1;
}

/* The audit line of a transaction, NUL-terminated, in a malloc'd buffer. */
static char *audit_line(const rampart_tx *tx, size_t *len_out)
{
    size_t len = rampart_tx_audit_json(tx, NULL, 0);
    char *buf = malloc(len + 1);
    if (!CHECK(buf != NULL))
        return NULL;
    CHECK_U(rampart_tx_audit_json(tx, buf, len + 1), len);
    buf[len] = '\0';
    if (len_out != NULL)
        *len_out = len;
    return buf;
}

/* Rules for the tests that do not need the default rule set. */
static const char rules_alpha[] = "rule 1001 \"alpha marker\" {\n"
                                  "    inspect   args\n"
                                  "    transform lowercase\n"
                                  "    match     contains \"alpha\"\n"
                                  "    action    deny 451\n"
                                  "}\n";
static const char rules_beta[] = "rule 2001 \"beta marker\" {\n"
                                 "    inspect   args\n"
                                 "    transform lowercase\n"
                                 "    match     contains \"beta\"\n"
                                 "    action    deny 452\n"
                                 "}\n";

/* ---- the tests --------------------------------------------------------- */

static void test_versions(void)
{
    const char *v = rampart_version();

    CHECK_U(rampart_abi_version() >> 16, RAMPART_ABI_VERSION >> 16);
    CHECK_U(rampart_abi_version(), RAMPART_ABI_VERSION);
    CHECK(v != NULL && v[0] >= '0' && v[0] <= '9' && strchr(v, '.') != NULL);
    CHECK(rampart_version() == v); /* static storage */

    /* Caller-allocated structs keep their size and layout within a major version. */
    CHECK_U(sizeof(rampart_verdict), 16 * 4);
    CHECK_U(offsetof(rampart_verdict, would_block), 6 * 4);
    CHECK_U(offsetof(rampart_verdict, reserved), 7 * 4);
    CHECK_U(sizeof(rampart_match), 4 * 4 + 3 * (sizeof(void *) + sizeof(size_t)) + 4 * sizeof(size_t));
    CHECK_U(offsetof(rampart_match, message), 4 * 4);
    CHECK_U(offsetof(rampart_match, snippet_len), 4 * 4 + 2 * (sizeof(void *) + sizeof(size_t)) + sizeof(void *));
    CHECK_U(offsetof(rampart_match, reserved), 4 * 4 + 3 * (sizeof(void *) + sizeof(size_t)));
}

static void test_default_rules(void)
{
    static const struct request attack = {"GET", "/item?id=1%27%20or%201%3D1--", browser, NULL, 0,
                                          0};
    static const struct request benign = {"GET", "/products?category=shoes&sort=price&page=2",
                                          browser, NULL, 0, 0};
    rampart_ruleset *rs;
    rampart_verdict v;
    rampart_match m;
    rampart_tx *tx;

    CHECK_RC(rampart_ruleset_default(NULL), RAMPART_RESULT_NULL_ARGUMENT);
    rs = default_rules();
    CHECK(rampart_ruleset_rule_count(rs) > 10);
    CHECK_U(rampart_ruleset_rule_count(NULL), 0);

    /* The attack is blocked in the headers phase, before any body. */
    tx = rampart_tx_new(rs);
    CHECK_RC(feed(tx, &attack), RAMPART_RESULT_OK);
    memset(&v, 0xab, sizeof v);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    CHECK_U(v.status, 403);
    CHECK_U(v.would_block, 1);
    CHECK(v.score >= 5);
    CHECK(v.match_count >= 1);
    CHECK_U(v.phase, RAMPART_PHASE_REQUEST_HEADERS);
    CHECK_U(v.limit, RAMPART_LIMIT_NONE);
    check_reserved_zero(&v);
    CHECK_U(rampart_tx_match_count(tx), v.match_count);
    memset(&m, 0xab, sizeof m);
    CHECK_RC(rampart_tx_match(tx, 0, &m), RAMPART_RESULT_OK);
    CHECK(m.rule_id >= 942000 && m.rule_id < 943000);
    CHECK_U(m.severity, RAMPART_SEVERITY_CRITICAL);
    CHECK_U(m.phase, RAMPART_PHASE_REQUEST_HEADERS);
    CHECK(m.message != NULL && m.message_len > 0);
    CHECK_BYTES(m.field, m.field_len, "args[\"id\"]");
    CHECK(m.snippet != NULL && m.snippet_len > 0 && m.snippet_len <= 64);
    CHECK(m.reserved[0] == 0 && m.reserved[1] == 0 && m.reserved[2] == 0 && m.reserved[3] == 0);

    /* A later phase after a block changes nothing but the phase. */
    {
        rampart_verdict v2;
        CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v2), RAMPART_RESULT_OK);
        CHECK_U(v2.action, RAMPART_ACTION_BLOCK);
        CHECK_U(v2.score, v.score);
        CHECK_U(v2.match_count, v.match_count);
        CHECK_U(v2.phase, RAMPART_PHASE_REQUEST_BODY);
    }

    /* The same transaction, reset, lets a benign request through. */
    rampart_tx_reset(tx);
    CHECK_U(rampart_tx_match_count(tx), 0);
    CHECK_RC(rampart_tx_match(tx, 0, &m), RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK_RC(feed(tx, &benign), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    CHECK_U(v.status, 0);
    CHECK_U(v.would_block, 0);
    CHECK_U(v.score, 0);
    CHECK_U(v.match_count, 0);
    CHECK_U(v.phase, RAMPART_PHASE_REQUEST_BODY);
    check_reserved_zero(&v);

    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

static void test_compile_errors(void)
{
    /* The typo is on line 4, column 15 (1-based, in characters: the é counts one). */
    static const char bad[] = "# é\n"
                              "rule 1 \"x\" {\n"
                              "    inspect   args\n"
                              "    transform url_decod\n"
                              "    match     contains \"a\"\n"
                              "}\n";
    static const char two_errors[] = "rule 1 \"x\" {\n"
                                     "    inspect args\n"
                                     "    match   bogus \"a\"\n"
                                     "}\n"
                                     "rule 2 \"y\" {\n"
                                     "    inspect args\n"
                                     "    transform nope\n"
                                     "    match   contains \"a\"\n"
                                     "}\n";
    rampart_ruleset *const sentinel = (rampart_ruleset *)&g_checks; /* never dereferenced */
    rampart_ruleset *rs = sentinel;
    rampart_error *err = NULL;

    CHECK_RC(rampart_ruleset_compile(S(bad), &rs, &err), RAMPART_RESULT_RULE_ERROR);
    CHECK(rs == sentinel); /* *out is written only on OK */
    if (CHECK(err != NULL)) {
        const char *msg = rampart_error_message(err);
        CHECK(msg != NULL && strncmp(msg, "<inline>:4:15: error: ", 22) == 0);
        CHECK_CONTAINS(msg, "unknown transform `url_decod`");
        CHECK_CONTAINS(msg, "url_decode"); /* the suggestion */
        CHECK_CONTAINS(msg, "^^^^^^^^^");  /* the caret line */
        CHECK(strcmp(rampart_error_file(err), "<inline>") == 0);
        CHECK_U(rampart_error_line(err), 4);
        CHECK_U(rampart_error_column(err), 15);
        CHECK(rampart_error_message(err) == msg); /* owned by the error, stable */
    }
    rampart_error_free(err);

    /* Every error is reported; the accessors give the first. */
    err = NULL;
    CHECK_RC(rampart_ruleset_compile(S(two_errors), &rs, &err), RAMPART_RESULT_RULE_ERROR);
    if (CHECK(err != NULL)) {
        CHECK_CONTAINS(rampart_error_message(err), "<inline>:3:");
        CHECK_CONTAINS(rampart_error_message(err), "<inline>:7:");
        CHECK_U(rampart_error_line(err), 3);
    }
    rampart_error_free(err);

    /* err may be NULL: the status alone. */
    CHECK_RC(rampart_ruleset_compile(S(bad), &rs, NULL), RAMPART_RESULT_RULE_ERROR);
    CHECK(rs == sentinel);

    /* out NULL: nothing compiled, no error written. */
    err = NULL;
    CHECK_RC(rampart_ruleset_compile(S(bad), NULL, &err), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK(err == NULL);
    CHECK_RC(rampart_ruleset_compile(NULL, 5, &rs, &err), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK(err == NULL && rs == sentinel);

    /* Rule text that is not UTF-8: INVALID_ARGUMENT, with a message. */
    CHECK_RC(rampart_ruleset_compile(S("rule 1 \"caf\xe9\" {\n    when method == \"GET\"\n}\n"),
                                     &rs, &err),
             RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK(rs == sentinel);
    if (CHECK(err != NULL)) {
        CHECK_CONTAINS(rampart_error_message(err), "<inline>");
        CHECK_CONTAINS(rampart_error_message(err), "not UTF-8");
        CHECK(strcmp(rampart_error_file(err), "<inline>") == 0);
    }
    rampart_error_free(err);
    err = NULL;
    CHECK_RC(rampart_ruleset_compile(S("\xff"), &rs, NULL), RAMPART_RESULT_INVALID_ARGUMENT);

    /* (NULL, 0) is the empty text: a ruleset with no rules, which allows everything. */
    rs = NULL;
    CHECK_RC(rampart_ruleset_compile(NULL, 0, &rs, &err), RAMPART_RESULT_OK);
    CHECK(rs != NULL && err == NULL);
    CHECK_U(rampart_ruleset_rule_count(rs), 0);
    {
        static const struct request attack = {"GET", "/?id=1'+or+1=1--", browser, NULL, 0, 0};
        rampart_verdict v;
        rampart_tx *tx = run(rs, &attack, &v);
        CHECK_U(v.action, RAMPART_ACTION_ALLOW);
        rampart_tx_free(tx);
    }
    rampart_ruleset_release(rs);

    /* Rule text need not be NUL-terminated: only `len` bytes are read. */
    {
        char buf[sizeof rules_alpha + 8];
        memcpy(buf, rules_alpha, sizeof rules_alpha - 1);
        memcpy(buf + sizeof rules_alpha - 1, "}}}}}}}}}", 9); /* garbage after the text */
        rs = NULL;
        CHECK_RC(rampart_ruleset_compile(buf, sizeof rules_alpha - 1, &rs, NULL),
                 RAMPART_RESULT_OK);
        CHECK_U(rampart_ruleset_rule_count(rs), 1);
        rampart_ruleset_release(rs);
    }

    /* The error accessors and free take NULL. */
    CHECK(rampart_error_message(NULL) == NULL);
    CHECK(rampart_error_file(NULL) == NULL);
    CHECK_U(rampart_error_line(NULL), 0);
    CHECK_U(rampart_error_column(NULL), 0);
    rampart_error_free(NULL);
}

static void test_load_errors(void)
{
    rampart_ruleset *const sentinel = (rampart_ruleset *)&g_checks;
    rampart_ruleset *rs = sentinel;
    rampart_error *err = NULL;
    char path[1200];
    const char *p;

    /* A missing config: IO, with the path in the message. */
    snprintf(path, sizeof path, "%s/no-such-dir/rampart.toml", g_dir);
    CHECK_RC(rampart_ruleset_load(path, strlen(path), &rs, &err), RAMPART_RESULT_IO);
    CHECK(rs == sentinel);
    if (CHECK(err != NULL)) {
        CHECK_CONTAINS(rampart_error_message(err), path);
        CHECK(strcmp(rampart_error_file(err), path) == 0);
        CHECK_U(rampart_error_line(err), 0);
        CHECK_U(rampart_error_column(err), 0);
    }
    rampart_error_free(err);
    err = NULL;
    CHECK_RC(rampart_ruleset_load(path, strlen(path), &rs, NULL), RAMPART_RESULT_IO);
    /* A non-UTF-8 path is a path like any other (Unix paths are bytes). */
    CHECK_RC(rampart_ruleset_load(S("/nonexistent/\xff\xfe.toml"), &rs, NULL), RAMPART_RESULT_IO);
    /* A directory is not a config. */
    CHECK_RC(rampart_ruleset_load(g_dir, strlen(g_dir), &rs, NULL), RAMPART_RESULT_IO);

    /* NULL and bad arguments. */
    CHECK_RC(rampart_ruleset_load(path, strlen(path), NULL, &err), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_ruleset_load(NULL, 4, &rs, &err), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK(err == NULL && rs == sentinel);
    /* An empty path, or one with a NUL byte: INVALID_ARGUMENT, with an error. */
    CHECK_RC(rampart_ruleset_load(NULL, 0, &rs, &err), RAMPART_RESULT_INVALID_ARGUMENT);
    if (CHECK(err != NULL))
        CHECK_CONTAINS(rampart_error_message(err), "empty config path");
    rampart_error_free(err);
    err = NULL;
    CHECK_RC(rampart_ruleset_load(S("a\0b.toml"), &rs, &err), RAMPART_RESULT_INVALID_ARGUMENT);
    if (CHECK(err != NULL))
        CHECK_CONTAINS(rampart_error_message(err), "NUL");
    rampart_error_free(err);
    err = NULL;
    CHECK_RC(rampart_ruleset_load(S(""), &rs, NULL), RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK(rs == sentinel);

    /* A config whose rule file is broken: RULE_ERROR, file:line:col of the rule file. */
    write_file("broken.rules", "rule 7 \"fine\" {\n"
                               "    when method == \"TRACE\"\n"
                               "    action deny 405\n"
                               "}\n"
                               "rule 8 \"broken\" {\n"
                               "    severity critical\n"
                               "    inspect  args\n"
                               "    match    regex `(unclosed`\n"
                               "}\n");
    p = write_file("broken.toml", "[rules]\ninclude = [\"broken.rules\"]\n");
    CHECK_RC(rampart_ruleset_load(p, strlen(p), &rs, &err), RAMPART_RESULT_RULE_ERROR);
    CHECK(rs == sentinel);
    if (CHECK(err != NULL)) {
        const char *file = rampart_error_file(err);
        size_t n = strlen(file);
        char place[1300];
        CHECK(n >= 12 && strcmp(file + n - 12, "broken.rules") == 0);
        CHECK_U(rampart_error_line(err), 8);
        CHECK_U(rampart_error_column(err), 21); /* the `(` */
        snprintf(place, sizeof place, "%s:8:21: error: ", file);
        CHECK(strncmp(rampart_error_message(err), place, strlen(place)) == 0);
    }
    rampart_error_free(err);
    err = NULL;

    /* A rule file that is not UTF-8, through a config: a RULE_ERROR at the
     * first invalid byte, like any other mistake in the file. */
    write_file_n("latin1.rules", S("rule 9 \"caf\xe9\" {\n    when method == \"GET\"\n}\n"));
    p = write_file("latin1.toml", "[rules]\ninclude = [\"latin1.rules\"]\n");
    CHECK_RC(rampart_ruleset_load(p, strlen(p), &rs, &err), RAMPART_RESULT_RULE_ERROR);
    if (CHECK(err != NULL)) {
        CHECK_CONTAINS(rampart_error_message(err), "latin1.rules:1:12: error: rule file is not UTF-8 here");
        CHECK_U(rampart_error_line(err), 1);
        CHECK_U(rampart_error_column(err), 12);
    }
    rampart_error_free(err);
    err = NULL;

    /* A mistake in the config itself: file:line:col in the TOML. */
    p = write_file("typo.toml", "[engine]\nmode = \"block\"\nparanoya = 2\n");
    CHECK_RC(rampart_ruleset_load(p, strlen(p), &rs, &err), RAMPART_RESULT_RULE_ERROR);
    if (CHECK(err != NULL)) {
        CHECK_CONTAINS(rampart_error_message(err), "typo.toml:3:1: error: ");
        CHECK_CONTAINS(rampart_error_message(err), "paranoya");
        CHECK_U(rampart_error_line(err), 3);
        CHECK_U(rampart_error_column(err), 1);
    }
    rampart_error_free(err);
    err = NULL;

    /* An include that names no file: IO, at the include. */
    p = write_file("dangling.toml", "[rules]\ninclude = [\"missing.rules\"]\n");
    CHECK_RC(rampart_ruleset_load(p, strlen(p), &rs, &err), RAMPART_RESULT_IO);
    if (CHECK(err != NULL)) {
        CHECK_CONTAINS(rampart_error_message(err), "dangling.toml:2:12: error: ");
        CHECK_CONTAINS(rampart_error_message(err), "missing.rules");
        CHECK_U(rampart_error_line(err), 2);
    }
    rampart_error_free(err);
    err = NULL;
    CHECK(rs == sentinel);

    /* The path need not be NUL-terminated. */
    write_file("alpha.rules", rules_alpha);
    p = write_file("alpha.toml", "[rules]\ninclude = [\"alpha.rules\"]\n");
    {
        char buf[1300];
        size_t n = strlen(p);
        memcpy(buf, p, n);
        memcpy(buf + n, ".garbage", 9);
        rs = NULL;
        CHECK_RC(rampart_ruleset_load(buf, n, &rs, &err), RAMPART_RESULT_OK);
        CHECK(err == NULL);
        CHECK_U(rampart_ruleset_rule_count(rs), 1);
        rampart_ruleset_release(rs);
    }
}

static void test_null_arguments(void)
{
    rampart_ruleset *rs = compile(rules_alpha);
    rampart_tx *tx = rampart_tx_new(rs);
    rampart_verdict v, before;
    rampart_match m;
    char buf[16];

    /* Handles. */
    CHECK(rampart_tx_new(NULL) == NULL);
    CHECK(rampart_ruleset_retain(NULL) == NULL);
    rampart_ruleset_release(NULL);
    rampart_tx_free(NULL);
    rampart_tx_reset(NULL);
    CHECK_RC(rampart_tx_reset_with(NULL, rs), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_reset_with(tx, NULL), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_reset_with(NULL, NULL), RAMPART_RESULT_NULL_ARGUMENT);

    /* A NULL transaction. */
    CHECK_RC(rampart_tx_set_request(NULL, S("GET"), S("/"), S("HTTP/1.1")),
             RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_client(NULL, S("192.0.2.1")), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_scheme(NULL, S("https")), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_request_id(NULL, S("id")), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_add_header(NULL, S("Host"), S("x")), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_append_body(NULL, (const uint8_t *)"x", 1), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_evaluate(NULL, RAMPART_PHASE_REQUEST_HEADERS, &v),
             RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_U(rampart_tx_match_count(NULL), 0);
    CHECK_RC(rampart_tx_match(NULL, 0, &m), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_U(rampart_tx_audit_json(NULL, buf, sizeof buf), 0);
    CHECK_U(rampart_tx_audit_json(NULL, NULL, 0), 0);

    /* A NULL string with a non-zero length. */
    CHECK_RC(rampart_tx_set_request(tx, NULL, 3, S("/"), S("HTTP/1.1")),
             RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), NULL, 1, S("HTTP/1.1")),
             RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/"), NULL, 8), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_client(tx, NULL, 9), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_scheme(tx, NULL, 5), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_set_request_id(tx, NULL, 2), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_add_header(tx, NULL, 4, S("x")), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_add_header(tx, S("Host"), NULL, 1), RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_append_body(tx, NULL, 1), RAMPART_RESULT_NULL_ARGUMENT);

    /* NULL out-parameters. */
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, NULL),
             RAMPART_RESULT_NULL_ARGUMENT);
    CHECK_RC(rampart_tx_match(tx, 0, NULL), RAMPART_RESULT_NULL_ARGUMENT);

    /* (NULL, 0) is the empty string everywhere. */
    CHECK_RC(rampart_tx_set_request(tx, NULL, 0, NULL, 0, NULL, 0), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_client(tx, NULL, 0), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_scheme(tx, NULL, 0), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_request_id(tx, NULL, 0), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, NULL, 0, NULL, 0), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_append_body(tx, NULL, 0), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);

    /* An unknown phase: INVALID_ARGUMENT, and the verdict is not written. */
    rampart_tx_reset(tx);
    memset(&v, 0x5a, sizeof v);
    before = v;
    CHECK_RC(rampart_tx_evaluate(tx, 2, &v), RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK_RC(rampart_tx_evaluate(tx, 0xffffffffu, &v), RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK(memcmp(&v, &before, sizeof v) == 0);

    /* A match index past the end; the record is not written. */
    memset(&m, 0x5a, sizeof m);
    CHECK_RC(rampart_tx_match(tx, 0, &m), RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK_RC(rampart_tx_match(tx, (size_t)-1, &m), RAMPART_RESULT_INVALID_ARGUMENT);
    CHECK_U(m.rule_id, 0x5a5a5a5au);

    /* Audit: a NULL buffer with a capacity writes nothing and returns 0. */
    CHECK_U(rampart_tx_audit_json(tx, NULL, 64), 0);
    CHECK(rampart_tx_audit_json(tx, NULL, 0) > 0);

    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

static void test_non_utf8_requests(void)
{
    rampart_ruleset *rs = default_rules();
    rampart_tx *tx = rampart_tx_new(rs);
    rampart_verdict v;
    char *line;
    size_t len, i, newlines = 0;

    /* Benign but not UTF-8 in the target, headers and body: accepted, evaluated, allowed. */
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/caf\xe9/\xff\xfe?q=\xc3\x28&r=ok"),
                                    S("HTTP/1.1")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_client(tx, S("\xff\xff")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_scheme(tx, S("htt\xf0")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_request_id(tx, S("id-\xff\"\n\\-end")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("Host"), S("shop.example")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("X-\x80\x81"), S("\xc3\x28\xa0\xa1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("Content-Type"), S("application/x-www-form-urlencoded")),
             RAMPART_RESULT_OK);
    {
        static const char body[] = "name=\xff\xfe\xfd&x=%ff";
        CHECK_RC(rampart_tx_append_body(tx, (const uint8_t *)body, sizeof body - 1),
                 RAMPART_RESULT_OK);
    }
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);

    /* The audit line stays one line of valid UTF-8 JSON. */
    line = audit_line(tx, &len);
    if (line != NULL) {
        CHECK(valid_utf8((const unsigned char *)line, len));
        for (i = 0; i < len; i++)
            newlines += line[i] == '\n';
        CHECK_U(newlines, 1);
        CHECK(len > 0 && line[len - 1] == '\n' && line[0] == '{');
        /* Request id bytes other than printable ASCII (and " and \) become _. */
        CHECK_CONTAINS(line, "\"request_id\":\"id-____-end\"");
        /* Invalid UTF-8 from the request is shown as \xNN text. */
        CHECK_CONTAINS(line, "/caf\\\\xe9/");
        free(line);
    }

    /* A method that is not UTF-8 is accepted by the ABI (the default rules then
     * block it as a malformed request line). */
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("G\xc3T"), S("/"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    line = audit_line(tx, &len);
    if (line != NULL) {
        CHECK(valid_utf8((const unsigned char *)line, len));
        free(line);
    }

    /* An attack with invalid bytes around it is still blocked. */
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/item?x=\xff\xfe&id=1%27%20or%201%3D1--\xff"),
                                    S("HTTP/1.1")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);

    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

/* Compares two transactions' verdicts and matches. */
static void check_same_outcome(const rampart_tx *a, const rampart_verdict *va, const rampart_tx *b,
                               const rampart_verdict *vb)
{
    size_t i, n = rampart_tx_match_count(a);

    CHECK_U(vb->action, va->action);
    CHECK_U(vb->status, va->status);
    CHECK_U(vb->score, va->score);
    CHECK_U(vb->match_count, va->match_count);
    CHECK_U(vb->would_block, va->would_block);
    CHECK_U(vb->limit, va->limit);
    CHECK_U(rampart_tx_match_count(b), n);
    for (i = 0; i < n; i++) {
        rampart_match ma, mb;
        if (!CHECK_RC(rampart_tx_match(a, i, &ma), RAMPART_RESULT_OK) ||
            !CHECK_RC(rampart_tx_match(b, i, &mb), RAMPART_RESULT_OK))
            continue;
        CHECK_U(mb.rule_id, ma.rule_id);
        CHECK_U(mb.offset, ma.offset);
        CHECK(mb.field_len == ma.field_len && memcmp(mb.field, ma.field, ma.field_len) == 0);
        CHECK(mb.snippet_len == ma.snippet_len &&
              memcmp(mb.snippet, ma.snippet, ma.snippet_len) == 0);
    }
}

static void test_body_chunks(void)
{
    static const char xss[] = "author=eve&text=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E";
    static const char sqli_json[] = "{\"items\": [{\"sku\": \"A-1\", \"qty\": 2}], "
                                    "\"note\": \"x' UNION SELECT password FROM users--\"}";
    static const char benign[] = "name=Jos%C3%A9+O%27Brien&city=Z%C3%BCrich&newsletter=yes";
    struct request r[3] = {
        {"POST", "/comments", form, xss, sizeof xss - 1, 0},
        {"POST", "/api/v1/orders", json, sqli_json, sizeof sqli_json - 1, 0},
        {"POST", "/account", form, benign, sizeof benign - 1, 0},
    };
    static const rampart_action expect[3] = {RAMPART_ACTION_BLOCK, RAMPART_ACTION_BLOCK,
                                             RAMPART_ACTION_ALLOW};
    static const size_t chunks[] = {1, 2, 7, 64};
    rampart_ruleset *rs = default_rules();
    size_t i, k;

    for (i = 0; i < 3; i++) {
        rampart_verdict one, many;
        rampart_tx *a, *b;

        r[i].chunk = 0;
        a = run(rs, &r[i], &one);
        CHECK_U(one.action, expect[i]);
        for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            r[i].chunk = chunks[k];
            b = run(rs, &r[i], &many);
            check_same_outcome(a, &one, b, &many);
            rampart_tx_free(b);
        }
        /* Empty chunks in between change nothing. */
        b = rampart_tx_new(rs);
        r[i].body = NULL;
        CHECK_RC(feed(b, &r[i]), RAMPART_RESULT_OK);
        r[i].body = i == 0 ? xss : i == 1 ? sqli_json : benign;
        for (k = 0; k < r[i].body_len; k++) {
            CHECK_RC(rampart_tx_append_body(b, NULL, 0), RAMPART_RESULT_OK);
            CHECK_RC(rampart_tx_append_body(b, (const uint8_t *)r[i].body + k, 1),
                     RAMPART_RESULT_OK);
        }
        CHECK_RC(rampart_tx_evaluate(b, RAMPART_PHASE_REQUEST_BODY, &many), RAMPART_RESULT_OK);
        check_same_outcome(a, &one, b, &many);
        rampart_tx_free(b);
        rampart_tx_free(a);
    }
    rampart_ruleset_release(rs);
}

/*
 * Match views (message, field, snippet) stay valid and unchanged across a
 * later evaluation of the body phase, even when that phase adds many more
 * matches, until the transaction is reset.
 */
static void test_match_views_stable(void)
{
    enum { BODY_RULES = 40 };
    char *rules = malloc(64 * 1024);
    char *body = malloc(64 * 1024);
    size_t rlen = 0, blen = 0, i;
    rampart_ruleset *rs;
    rampart_tx *tx;
    rampart_verdict v;
    rampart_match first, again;
    char field[512], snippet[128], message[128];
    char long_key[201];

    if (!CHECK(rules != NULL && body != NULL)) {
        free(rules);
        free(body);
        return;
    }
    rlen += (size_t)sprintf(rules + rlen, "rule 1 \"header marker\" {\n"
                                          "    inspect headers[\"x-marker\"]\n"
                                          "    match   contains \"mark\"\n"
                                          "    action  log\n"
                                          "}\n");
    memset(long_key, 'k', 200);
    long_key[200] = '\0';
    for (i = 0; i < BODY_RULES; i++) {
        rlen += (size_t)sprintf(rules + rlen,
                                "rule %u \"body marker %u\" {\n"
                                "    inspect args.body\n"
                                "    match   contains \"tok%03u\"\n"
                                "    action  log\n"
                                "}\n",
                                (unsigned)(100 + i), (unsigned)i, (unsigned)i);
        blen += (size_t)sprintf(body + blen, "%skey%03u_%s=value-tok%03u", i ? "&" : "",
                                (unsigned)i, long_key, (unsigned)i);
    }
    rs = compile(rules);
    tx = rampart_tx_new(rs);
    rampart_ruleset_release(rs); /* the transaction keeps it */

    CHECK_RC(rampart_tx_set_request(tx, S("POST"), S("/form"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("Content-Type"), S("application/x-www-form-urlencoded")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("X-Marker"), S("a-mark-in-a-header")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_LOG);
    CHECK_U(v.match_count, 1);
    CHECK_RC(rampart_tx_match(tx, 0, &first), RAMPART_RESULT_OK);
    CHECK_U(first.rule_id, 1);
    /* The header name as the client sent it; the snippet is the matched bytes. */
    /* Header names are shown lowercased, as they compare. */
    CHECK_BYTES(first.field, first.field_len, "headers[\"x-marker\"]");
    CHECK_BYTES(first.message, first.message_len, "header marker");
    CHECK_BYTES(first.snippet, first.snippet_len, "mark");
    CHECK_U(first.offset, 2);
    CHECK(first.field_len < sizeof field && first.snippet_len < sizeof snippet &&
          first.message_len < sizeof message);
    memcpy(field, first.field, first.field_len);
    memcpy(snippet, first.snippet, first.snippet_len);
    memcpy(message, first.message, first.message_len);

    /* The body phase adds 40 matches with long field names: kilobytes of views. */
    CHECK_RC(rampart_tx_append_body(tx, (const uint8_t *)body, blen), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_LOG);
    CHECK_U(v.match_count, 1 + BODY_RULES);
    CHECK_U(rampart_tx_match_count(tx), 1 + BODY_RULES);

    /* The first record's views: same pointers, same bytes. */
    CHECK(memcmp(first.field, field, first.field_len) == 0);
    CHECK(memcmp(first.snippet, snippet, first.snippet_len) == 0);
    CHECK(memcmp(first.message, message, first.message_len) == 0);
    CHECK_RC(rampart_tx_match(tx, 0, &again), RAMPART_RESULT_OK);
    CHECK(again.field == first.field && again.snippet == first.snippet &&
          again.message == first.message);

    /* And every body match names its own field. */
    for (i = 0; i < BODY_RULES; i++) {
        rampart_match m;
        char want[300];
        if (!CHECK_RC(rampart_tx_match(tx, 1 + i, &m), RAMPART_RESULT_OK))
            continue;
        CHECK_U(m.rule_id, 100 + i);
        CHECK_U(m.phase, RAMPART_PHASE_REQUEST_BODY);
        sprintf(want, "args[\"key%03u_%s\"]", (unsigned)i, long_key);
        CHECK_BYTES(m.field, m.field_len, want);
        sprintf(want, "tok%03u", (unsigned)i);
        CHECK_BYTES(m.snippet, m.snippet_len, want);
    }
    CHECK_RC(rampart_tx_match(tx, 1 + BODY_RULES, &again), RAMPART_RESULT_INVALID_ARGUMENT);

    /* Evaluating again (any phase) keeps them too. */
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(rampart_tx_match_count(tx), 1 + BODY_RULES);
    CHECK(memcmp(first.field, field, first.field_len) == 0);
    CHECK(memcmp(first.snippet, snippet, first.snippet_len) == 0);

    /* After reset the views are gone (not read here: that would be a bug in a host). */
    rampart_tx_reset(tx);
    CHECK_U(rampart_tx_match_count(tx), 0);

    rampart_tx_free(tx);
    free(rules);
    free(body);
}

static void test_phases(void)
{
    rampart_ruleset *rs = compile("rule 1 \"notice in query\" {\n"
                                  "    severity notice\n"
                                  "    inspect  args\n"
                                  "    match    contains \"n1\"\n"
                                  "}\n"
                                  "rule 2 \"warning in body\" {\n"
                                  "    severity warning\n"
                                  "    inspect  args.body\n"
                                  "    match    contains \"w2\"\n"
                                  "}\n");
    rampart_tx *tx = rampart_tx_new(rs);
    rampart_verdict v;
    rampart_match m;

    /* Scores accumulate over phases: 2 (LOG), then 2 + 3 = 5 reaches the threshold. */
    CHECK_RC(rampart_tx_set_request(tx, S("POST"), S("/?a=n1"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("Content-Type"), S("application/x-www-form-urlencoded")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_LOG);
    CHECK_U(v.score, 2);
    CHECK_U(v.would_block, 0);
    CHECK_U(v.status, 0);
    /* Evaluating a phase twice counts nothing twice. */
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.score, 2);
    CHECK_U(v.match_count, 1);
    CHECK_RC(rampart_tx_append_body(tx, (const uint8_t *)"b=w2", 4), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    CHECK_U(v.score, 5);
    CHECK_U(v.status, 403);
    CHECK_U(v.match_count, 2);
    CHECK_U(v.phase, RAMPART_PHASE_REQUEST_BODY);
    CHECK_RC(rampart_tx_match(tx, 0, &m), RAMPART_RESULT_OK);
    CHECK_U(m.severity, RAMPART_SEVERITY_NOTICE);
    CHECK_U(m.phase, RAMPART_PHASE_REQUEST_HEADERS);
    CHECK_RC(rampart_tx_match(tx, 1, &m), RAMPART_RESULT_OK);
    CHECK_U(m.severity, RAMPART_SEVERITY_WARNING);
    CHECK_U(m.phase, RAMPART_PHASE_REQUEST_BODY);
    CHECK_BYTES(m.field, m.field_len, "args[\"b\"]");

    /* Asking for the body phase first runs the headers phase too. */
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/?a=n1"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.score, 2);
    CHECK_U(v.action, RAMPART_ACTION_LOG);

    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

/*
 * Data that comes after the phase that inspects it: the request line, client
 * and scheme after the headers phase, body bytes after the body phase are
 * refused with TOO_LATE; a late header is accepted and inspected in the body
 * phase. A reset makes the transaction take everything again.
 */
static void test_too_late(void)
{
    rampart_ruleset *rs = compile("rule 5 \"late header\" {\n"
                                  "    inspect headers[\"x-late\"]\n"
                                  "    match   contains \"evil\"\n"
                                  "    action  deny 403\n"
                                  "}\n");
    rampart_tx *tx = rampart_tx_new(rs);
    rampart_verdict v;
    rampart_match m;

    CHECK_RC(rampart_tx_set_request(tx, S("POST"), S("/upload"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/"), S("HTTP/1.1")), RAMPART_RESULT_TOO_LATE);
    CHECK_RC(rampart_tx_set_client(tx, S("192.0.2.1")), RAMPART_RESULT_TOO_LATE);
    CHECK_RC(rampart_tx_set_scheme(tx, S("https")), RAMPART_RESULT_TOO_LATE);
    /* Still fine: the request id, a trailer-like header, the body. */
    CHECK_RC(rampart_tx_set_request_id(tx, S("late-1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("X-Late"), S("something evil")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_append_body(tx, (const uint8_t *)"a=1", 3), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    if (CHECK_RC(rampart_tx_match(tx, 0, &m), RAMPART_RESULT_OK)) {
        CHECK_U(m.rule_id, 5);
        CHECK_U(m.phase, RAMPART_PHASE_REQUEST_BODY);
    }
    CHECK_RC(rampart_tx_append_body(tx, (const uint8_t *)"b=2", 3), RAMPART_RESULT_TOO_LATE);
    CHECK_RC(rampart_tx_append_body(tx, NULL, 0), RAMPART_RESULT_TOO_LATE);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/"), S("HTTP/1.1")), RAMPART_RESULT_TOO_LATE);
    /* NULL checks come first. */
    CHECK_RC(rampart_tx_append_body(tx, NULL, 1), RAMPART_RESULT_NULL_ARGUMENT);

    /* After a reset, everything is taken again. */
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_client(tx, S("192.0.2.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_scheme(tx, S("https")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_append_body(tx, (const uint8_t *)"a=1", 3), RAMPART_RESULT_OK);

    /* Before any evaluation a second request line replaces the first. */
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("http://evil.example/x?q=1"), S("HTTP/1.1")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/y"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_add_header(tx, S("Host"), S("shop.example")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    {
        char *line = audit_line(tx, NULL);
        CHECK_CONTAINS(line, "\"uri\":\"/y\"");
        CHECK_CONTAINS(line, "\"host\":\"shop.example\"");
        free(line);
    }

    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

static void test_client_and_scheme(void)
{
    rampart_ruleset *rs = compile("rule 10 \"plain-text login\" {\n"
                                  "    when   scheme == \"http\" and path == \"/login\"\n"
                                  "    action deny 426\n"
                                  "}\n"
                                  "rule 11 \"admin only from the office\" {\n"
                                  "    when   path starts_with \"/admin\" and not client_ip in "
                                  "[10.0.0.0/8, 2001:db8::/32]\n"
                                  "    action deny 403\n"
                                  "}\n");
    rampart_tx *tx = rampart_tx_new(rs);
    rampart_verdict v;

    /* The default scheme is http. */
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/login"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    CHECK_U(v.status, 426);
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/login"), S("HTTP/1.1")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_scheme(tx, S("https")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);

    /* The client address, v4 and v6. */
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/admin/users"), S("HTTP/1.1")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_client(tx, S("10.1.2.3")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/admin/users"), S("HTTP/1.1")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_client(tx, S("2001:db8::7")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    rampart_tx_reset(tx);
    CHECK_RC(rampart_tx_set_request(tx, S("GET"), S("/admin/users"), S("HTTP/1.1")),
             RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_set_client(tx, S("203.0.113.7")), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    CHECK_U(v.status, 403);

    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

static void test_audit_buffer(void)
{
    static const struct request attack = {"GET", "/item?id=1%27%20or%201%3D1--", browser, NULL, 0,
                                          0};
    rampart_ruleset *rs = default_rules();
    rampart_verdict v;
    rampart_tx *tx = run(rs, &attack, &v);
    size_t n, i;
    char *buf;
    char id[101];

    /* Before anything is set, a fresh transaction still has an event. */
    {
        rampart_tx *fresh = rampart_tx_new(rs);
        CHECK(rampart_tx_audit_json(fresh, NULL, 0) > 0);
        rampart_tx_free(fresh);
    }

    /* A request id is kept up to 64 bytes. */
    memset(id, 'i', 100);
    id[100] = '\0';
    CHECK_RC(rampart_tx_set_request_id(tx, id, 100), RAMPART_RESULT_OK);

    n = rampart_tx_audit_json(tx, NULL, 0); /* cap 0: the length */
    CHECK(n > 2);
    CHECK_U(rampart_tx_audit_json(tx, NULL, 0), n); /* asking again: the same */
    buf = malloc(n + 16);
    if (!CHECK(buf != NULL))
        goto out;

    /* Too small by one: nothing written, the length returned. */
    memset(buf, '#', n + 16);
    CHECK_U(rampart_tx_audit_json(tx, buf, n - 1), n);
    for (i = 0; i < n + 16 && buf[i] == '#'; i++)
        ;
    CHECK_U(i, n + 16);
    CHECK_U(rampart_tx_audit_json(tx, buf, 1), n);
    CHECK(buf[0] == '#');

    /* Exact fit: the line, no NUL after it. */
    memset(buf, '#', n + 16);
    CHECK_U(rampart_tx_audit_json(tx, buf, n), n);
    CHECK(buf[0] == '{' && buf[n - 2] == '}' && buf[n - 1] == '\n');
    CHECK(buf[n] == '#');
    CHECK(memchr(buf, '\0', n) == NULL);

    /* Larger: the line and a NUL, nothing after. */
    memset(buf, '#', n + 16);
    CHECK_U(rampart_tx_audit_json(tx, buf, n + 16), n);
    CHECK(buf[n] == '\0');
    CHECK(buf[n + 1] == '#');
    CHECK_U(strlen(buf), n);

    /* What it says. */
    CHECK_CONTAINS(buf, "\"action\":\"block\"");
    CHECK_CONTAINS(buf, "\"status\":403");
    CHECK_CONTAINS(buf, "\"id\":942");
    {
        char want[80];
        sprintf(want, "\"%.64s\"", id); /* exactly 64 bytes of the id, quoted */
        CHECK_CONTAINS(buf, want);
    }
    CHECK(valid_utf8((const unsigned char *)buf, n));
    free(buf);

out:
    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

static void test_retain_release(void)
{
    static const struct request hit = {"GET", "/?q=ALPHA", no_headers, NULL, 0, 0};
    rampart_ruleset *rs = compile(rules_alpha);
    rampart_ruleset *again;
    rampart_tx *tx1, *tx2;
    rampart_verdict v;
    rampart_match m;

    /* retain gives back the same handle with one more reference. */
    again = rampart_ruleset_retain(rs);
    CHECK(again == rs);
    CHECK(rampart_ruleset_retain(rs) == rs);
    rampart_ruleset_release(rs);
    rampart_ruleset_release(rs);
    CHECK_U(rampart_ruleset_rule_count(rs), 1); /* still ours: one reference left */

    /* Transactions hold their own references: the host may release at once. */
    tx1 = rampart_tx_new(rs);
    tx2 = rampart_tx_new(rs);
    rampart_ruleset_release(rs); /* the host's last reference */
    rs = NULL;

    CHECK_RC(feed(tx1, &hit), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx1, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    CHECK_U(v.status, 451);
    rampart_tx_free(tx1); /* tx2 still holds the ruleset */

    CHECK_RC(feed(tx2, &hit), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx2, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    /* The message is a view into the ruleset, alive as long as the transaction. */
    CHECK_RC(rampart_tx_match(tx2, 0, &m), RAMPART_RESULT_OK);
    CHECK_BYTES(m.message, m.message_len, "alpha marker");
    rampart_tx_reset(tx2);
    CHECK_RC(feed(tx2, &hit), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx2, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    rampart_tx_free(tx2); /* the last reference: the ruleset is freed (valgrind checks) */
}

static void test_reset_with(void)
{
    static const struct request alpha = {"GET", "/?q=alpha", no_headers, NULL, 0, 0};
    static const struct request beta = {"GET", "/?q=beta", no_headers, NULL, 0, 0};
    rampart_ruleset *a = compile(rules_alpha);
    rampart_ruleset *b = compile(rules_beta);
    rampart_tx *tx = rampart_tx_new(a);
    rampart_verdict v;

    rampart_ruleset_release(a);
    CHECK_RC(feed(tx, &alpha), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.status, 451);

    /* A hot reload: move the transaction to the new ruleset. */
    CHECK_RC(rampart_tx_reset_with(tx, b), RAMPART_RESULT_OK);
    CHECK_U(rampart_tx_match_count(tx), 0); /* it is a reset too */
    rampart_ruleset_release(b);             /* the transaction keeps b (and dropped a) */
    CHECK_RC(feed(tx, &alpha), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    rampart_tx_reset(tx); /* a plain reset keeps b */
    CHECK_RC(feed(tx, &beta), RAMPART_RESULT_OK);
    CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
    CHECK_U(v.action, RAMPART_ACTION_BLOCK);
    CHECK_U(v.status, 452);

    /* Mid-request (phases evaluated): reset_with drops that request. */
    {
        rampart_ruleset *c = compile(rules_alpha);
        CHECK_RC(rampart_tx_reset_with(tx, c), RAMPART_RESULT_OK);
        CHECK_RC(rampart_tx_reset_with(tx, c), RAMPART_RESULT_OK); /* the same again */
        rampart_ruleset_release(c);
        CHECK_RC(feed(tx, &alpha), RAMPART_RESULT_OK);
        CHECK_RC(rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
        CHECK_U(v.status, 451);
    }
    rampart_tx_free(tx);
}

static void test_detect_mode(void)
{
    static const struct request attack = {"GET", "/item?id=1%27%20or%201%3D1--", browser, NULL, 0,
                                          0};
    static const struct request benign = {"GET", "/products?page=2", browser, NULL, 0, 0};
    rampart_ruleset *rs;
    rampart_verdict v;
    rampart_tx *tx;
    char *line;

    write_file("sqli.rules", "rule 942130 \"SQL injection: tautology\" {\n"
                             "    severity  critical\n"
                             "    inspect   args\n"
                             "    transform url_decode_uni, lowercase\n"
                             "    match     regex `'\\s*or\\s+\\d+\\s*=\\s*\\d+`\n"
                             "}\n");
    rs = load(write_file("detect.toml", "[engine]\n"
                                        "mode = \"detect\"\n"
                                        "block_status = 418\n"
                                        "\n"
                                        "[rules]\n"
                                        "include = [\"sqli.rules\"]\n"));
    if (rs == NULL)
        return;
    tx = run(rs, &attack, &v);
    CHECK_U(v.action, RAMPART_ACTION_LOG);
    CHECK_U(v.would_block, 1);
    CHECK_U(v.status, 418); /* what block mode would answer */
    CHECK_U(v.score, 5);
    CHECK_U(v.match_count, 1);
    line = audit_line(tx, NULL);
    CHECK_CONTAINS(line, "\"mode\":\"detect\"");
    CHECK_CONTAINS(line, "\"would_block\":true");
    free(line);
    rampart_tx_free(tx);

    tx = run(rs, &benign, &v);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    CHECK_U(v.would_block, 0);
    CHECK_U(v.status, 0);
    rampart_tx_free(tx);
    rampart_ruleset_release(rs);

    /* Mode off: nothing is evaluated. */
    rs = load(write_file("off.toml", "[engine]\nmode = \"off\"\n[rules]\ninclude = [\"sqli.rules\"]\n"));
    tx = run(rs, &attack, &v);
    CHECK_U(v.action, RAMPART_ACTION_ALLOW);
    CHECK_U(v.match_count, 0);
    rampart_tx_free(tx);
    rampart_ruleset_release(rs);
}

static void test_limits(void)
{
    static const char *const many_headers[] = {"Host: a", "A: 1", "B: 2", "C: 3", "D: 4", NULL};
    static const char *const multipart[] = {"Host: a",
                                            "Content-Type: multipart/form-data; boundary=XyZ",
                                            NULL};
    static const char parts[] = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                                "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n"
                                "--XyZ\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\n3\r\n"
                                "--XyZ--\r\n";
    static const char deep[] = "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}";
    static const char *const plain[] = {"Host: a", "Content-Type: text/plain", NULL};
    static const char *big_headers[3];
    char big_uri[300], big_value[300], big_header[320], big_body[600];
    struct request r[7];
    static const rampart_limit expect[7] = {
        RAMPART_LIMIT_BODY_BYTES, RAMPART_LIMIT_ARGS,       RAMPART_LIMIT_HEADERS,
        RAMPART_LIMIT_HEADER_BYTES, RAMPART_LIMIT_URI_BYTES, RAMPART_LIMIT_JSON_DEPTH,
        RAMPART_LIMIT_MULTIPART_PARTS};
    rampart_ruleset *reject, *inspect;
    size_t i;

    write_file("empty.rules", "# no rules: only the limits decide\n");
    reject = load(write_file("limits.toml", "[rules]\n"
                                            "include = [\"empty.rules\"]\n"
                                            "[limits]\n"
                                            "max_body_bytes = 512\n"
                                            "max_args = 4\n"
                                            "max_headers = 4\n"
                                            "max_header_bytes = 256\n"
                                            "max_uri_bytes = 128\n"
                                            "max_json_depth = 3\n"
                                            "max_multipart_parts = 2\n"
                                            "limit_status = 413\n"));
    inspect = load(write_file("inspect.toml", "[rules]\n"
                                              "include = [\"empty.rules\"]\n"
                                              "[limits]\n"
                                              "max_body_bytes = 512\n"
                                              "on_limit = \"inspect\"\n"));
    if (reject == NULL || inspect == NULL)
        goto out;

    memset(big_uri, 'u', sizeof big_uri);
    big_uri[0] = '/';
    big_uri[200] = '\0';
    memset(big_value, 'v', sizeof big_value);
    big_value[200] = '\0';
    sprintf(big_header, "X-Big: %s", big_value);
    big_headers[0] = big_header;
    big_headers[1] = "X-Other: 1234567890123456789012345678901234567890123456789012345678901234";
    big_headers[2] = NULL;
    memset(big_body, 'b', sizeof big_body);

    r[0] = (struct request){"POST", "/upload", plain, big_body, sizeof big_body, 100};
    r[1] = (struct request){"GET", "/?a=1&b=2&c=3&d=4&e=5", no_headers, NULL, 0, 0};
    r[2] = (struct request){"GET", "/", many_headers, NULL, 0, 0};
    r[3] = (struct request){"GET", "/", big_headers, NULL, 0, 0};
    r[4] = (struct request){"GET", big_uri, no_headers, NULL, 0, 0};
    r[5] = (struct request){"POST", "/api", json, deep, sizeof deep - 1, 0};
    r[6] = (struct request){"POST", "/form", multipart, parts, sizeof parts - 1, 0};

    for (i = 0; i < 7; i++) {
        rampart_verdict v;
        rampart_tx *tx = run(reject, &r[i], &v);
        if (!CHECK_U(v.limit, expect[i]))
            fprintf(stderr, "  (request %u)\n", (unsigned)i);
        CHECK_U(v.action, RAMPART_ACTION_BLOCK);
        CHECK_U(v.status, 413);
        CHECK_U(v.would_block, 1);
        rampart_tx_free(tx);
    }

    /* on_limit = "inspect": flagged, not blocked. */
    {
        rampart_verdict v;
        rampart_tx *tx = run(inspect, &r[0], &v);
        CHECK_U(v.limit, RAMPART_LIMIT_BODY_BYTES);
        CHECK_U(v.action, RAMPART_ACTION_ALLOW);
        CHECK_U(v.would_block, 0);
        rampart_tx_free(tx);
    }
out:
    rampart_ruleset_release(reject);
    rampart_ruleset_release(inspect);
}

static void test_many_transactions(void)
{
    /* Many transactions in flight on one thread, interleaved: the per-thread
     * scratch is shared, each transaction keeps only its own request. */
    enum { N = 64 };
    static const struct request attack = {"GET", "/item?id=1%27%20or%201%3D1--", browser, NULL, 0,
                                          0};
    static const struct request benign = {"GET", "/products?page=2", browser, NULL, 0, 0};
    rampart_ruleset *rs = default_rules();
    rampart_tx *tx[N];
    size_t i;

    for (i = 0; i < N; i++) {
        tx[i] = rampart_tx_new(rs);
        CHECK_RC(feed(tx[i], i % 2 ? &attack : &benign), RAMPART_RESULT_OK);
    }
    for (i = 0; i < N; i++) {
        rampart_verdict v;
        CHECK_RC(rampart_tx_evaluate(tx[i], RAMPART_PHASE_REQUEST_BODY, &v), RAMPART_RESULT_OK);
        CHECK_U(v.action, i % 2 ? RAMPART_ACTION_BLOCK : RAMPART_ACTION_ALLOW);
    }
    for (i = 0; i < N; i++)
        rampart_tx_free(tx[i]);
    rampart_ruleset_release(rs);
}

/* ---- main ---------------------------------------------------------------- */

#define RUN(test)                                                                                  \
    do {                                                                                           \
        int before = g_failures;                                                                   \
        g_test = #test;                                                                            \
        test();                                                                                    \
        printf("%s %s\n", g_failures == before ? "ok  " : "FAIL", #test);                        \
    } while (0)

int main(int argc, char **argv)
{
    int i;

    if (argc > 1) {
        snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/rampart-c-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
        if (mkdtemp(g_dir) == NULL) {
            perror("mkdtemp");
            return 2;
        }
        g_own_dir = 1;
    }

    RUN(test_versions);
    RUN(test_default_rules);
    RUN(test_compile_errors);
    RUN(test_load_errors);
    RUN(test_null_arguments);
    RUN(test_non_utf8_requests);
    RUN(test_body_chunks);
    RUN(test_match_views_stable);
    RUN(test_phases);
    RUN(test_too_late);
    RUN(test_client_and_scheme);
    RUN(test_audit_buffer);
    RUN(test_retain_release);
    RUN(test_reset_with);
    RUN(test_detect_mode);
    RUN(test_limits);
    RUN(test_many_transactions);

    for (i = 0; i < g_file_count; i++)
        remove(g_files[i]);
    if (g_own_dir)
        rmdir(g_dir);
    printf("%d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
