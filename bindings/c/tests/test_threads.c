/*
 * test_threads.c: hot reload under load, through the C ABI.
 *
 * Four worker threads evaluate requests in a loop. For each batch a worker
 * takes the shared `current` ruleset (under a mutex, with
 * rampart_ruleset_retain), creates a transaction from it, releases its own
 * reference at once (the transaction holds one) and evaluates an attack, a
 * benign request and a request that only the ruleset's own generation blocks,
 * resetting the transaction in between; every few batches it also moves a
 * transaction to the newest ruleset with rampart_tx_reset_with. Meanwhile the
 * main thread compiles new rulesets, swaps them in and releases the old ones,
 * many times.
 *
 * No call may fail, and every verdict must be right: attacks blocked, benign
 * requests allowed, and each transaction judged by the generation it was
 * created from (so in-flight transactions keep their ruleset across a reload).
 *
 * Usage: test_threads [RELOADS [MIN_BATCHES_PER_WORKER [PAUSE_US]]] (defaults
 * 200, 50, 0): PAUSE_US is a sleep of each worker after each batch, which lets
 * the reloading thread run under valgrind (it runs one thread at a time);
 * tests/c_api.rs passes fewer iterations and a pause there.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rampart.h"

#define S(literal) (literal), (sizeof(literal) - 1)
#define WORKERS 4

/* The shared state: the current ruleset and its generation, under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static rampart_ruleset *current;
static unsigned generation;
static int stop;
static long pause_us; /* set before the workers start */

struct worker {
    pthread_t thread;
    unsigned id;
    unsigned long batches; /* under `lock` */
    unsigned long evaluations;
    unsigned long failures;
    unsigned long generations_seen;
};

/* Takes a reference to the current ruleset, with its generation. */
static rampart_ruleset *take_current(unsigned *gen)
{
    rampart_ruleset *rs;

    pthread_mutex_lock(&lock);
    rs = rampart_ruleset_retain(current);
    *gen = generation;
    pthread_mutex_unlock(&lock);
    return rs;
}

static int stopping(void)
{
    int s;
    pthread_mutex_lock(&lock);
    s = stop;
    pthread_mutex_unlock(&lock);
    return s;
}

/* Rules of generation `gen`: a SQLi rule (in every generation) and a rule
 * that blocks the path /gen/<gen> with status 451. */
static int rules_for(unsigned gen, char *buf, size_t cap)
{
    return snprintf(buf, cap,
                    "rule 942130 \"SQL injection: tautology\" {\n"
                    "    severity  critical\n"
                    "    inspect   args, args.names, cookies\n"
                    "    transform url_decode_uni, lowercase, compress_whitespace\n"
                    "    match     regex `['\"]\\s*(?:or|and)\\s+\\d+\\s*=\\s*\\d+`\n"
                    "}\n"
                    "rule 941110 \"XSS: script tag\" {\n"
                    "    severity  critical\n"
                    "    inspect   args\n"
                    "    transform url_decode_uni, html_entity_decode, lowercase\n"
                    "    match     regex `<script\\b`\n"
                    "}\n"
                    "rule 100 \"generation %u marker\" {\n"
                    "    when   path == \"/gen/%u\"\n"
                    "    action deny 451\n"
                    "}\n",
                    gen, gen);
}

static void fail(struct worker *w, const char *what, unsigned gen, const rampart_verdict *v,
                 rampart_result rc)
{
    w->failures++;
    if (w->failures <= 10)
        fprintf(stderr, "worker %u, generation %u: %s (result %u, action %u, status %u)\n", w->id,
                gen, what, (unsigned)rc, v != NULL ? (unsigned)v->action : 0u,
                v != NULL ? (unsigned)v->status : 0u);
}

/* Evaluates one request and checks the verdict's action and status. */
static void expect(struct worker *w, rampart_tx *tx, unsigned gen, const char *method,
                   const char *uri, const char *body, rampart_action action, uint32_t status)
{
    rampart_verdict v;
    rampart_result rc;

    rampart_tx_reset(tx);
    rc = rampart_tx_set_request(tx, method, strlen(method), uri, strlen(uri), S("HTTP/1.1"));
    if (rc == RAMPART_RESULT_OK)
        rc = rampart_tx_add_header(tx, S("Host"), S("shop.example"));
    if (rc == RAMPART_RESULT_OK && body != NULL) {
        rc = rampart_tx_add_header(tx, S("Content-Type"), S("application/x-www-form-urlencoded"));
        if (rc == RAMPART_RESULT_OK)
            rc = rampart_tx_append_body(tx, (const uint8_t *)body, strlen(body));
    }
    if (rc == RAMPART_RESULT_OK)
        rc = rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_HEADERS, &v);
    if (rc == RAMPART_RESULT_OK)
        rc = rampart_tx_evaluate(tx, RAMPART_PHASE_REQUEST_BODY, &v);
    w->evaluations++;
    if (rc != RAMPART_RESULT_OK) {
        fail(w, "a call failed", gen, NULL, rc);
        return;
    }
    if (v.action != action || v.status != status) {
        fail(w, uri, gen, &v, rc);
        return;
    }
    if (action == RAMPART_ACTION_BLOCK) {
        rampart_match m;
        size_t n = rampart_tx_match_count(tx);
        if (n == 0 || rampart_tx_match(tx, n - 1, &m) != RAMPART_RESULT_OK || m.message_len == 0)
            fail(w, "no match record", gen, &v, rc);
    }
}

/* The requests of one batch, judged by generation `gen`. */
static void batch(struct worker *w, rampart_tx *tx, unsigned gen)
{
    char own[32], other[32];

    sprintf(own, "/gen/%u", gen);
    sprintf(other, "/gen/%u", gen + 1);
    expect(w, tx, gen, "GET", "/item?id=1%27%20or%201%3D1--", NULL, RAMPART_ACTION_BLOCK, 403);
    expect(w, tx, gen, "GET", "/products?category=shoes&page=2", NULL, RAMPART_ACTION_ALLOW, 0);
    expect(w, tx, gen, "POST", "/comments", "text=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
           RAMPART_ACTION_BLOCK, 403);
    expect(w, tx, gen, "POST", "/account", "name=Jos%C3%A9+O%27Brien&city=Z%C3%BCrich",
           RAMPART_ACTION_ALLOW, 0);
    expect(w, tx, gen, "GET", own, NULL, RAMPART_ACTION_BLOCK, 451);
    expect(w, tx, gen, "GET", other, NULL, RAMPART_ACTION_ALLOW, 0);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned last_gen = (unsigned)-1;

    while (!stopping()) {
        unsigned gen;
        rampart_ruleset *rs = take_current(&gen);
        rampart_tx *tx = rampart_tx_new(rs);

        rampart_ruleset_release(rs); /* the transaction holds its own reference */
        if (tx == NULL) {
            fail(w, "rampart_tx_new returned NULL", gen, NULL, RAMPART_RESULT_OK);
            break;
        }
        if (gen != last_gen) {
            w->generations_seen++;
            last_gen = gen;
        }
        batch(w, tx, gen);

        /* Every few batches: keep the transaction, move it to the newest ruleset. */
        if (w->batches % 4 == 3) {
            unsigned newer;
            rampart_ruleset *next = take_current(&newer);
            rampart_result rc = rampart_tx_reset_with(tx, next);
            rampart_ruleset_release(next);
            if (rc != RAMPART_RESULT_OK)
                fail(w, "rampart_tx_reset_with failed", newer, NULL, rc);
            else
                batch(w, tx, newer);
        }
        rampart_tx_free(tx);
        pthread_mutex_lock(&lock); /* main reads it */
        w->batches++;
        pthread_mutex_unlock(&lock);
        if (pause_us > 0) {
            struct timespec ts;
            ts.tv_sec = pause_us / 1000000L;
            ts.tv_nsec = (pause_us % 1000000L) * 1000L;
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static rampart_ruleset *compile_generation(unsigned gen)
{
    char text[2048];
    rampart_ruleset *rs = NULL;
    rampart_error *err = NULL;
    int n = rules_for(gen, text, sizeof text);
    rampart_result rc = rampart_ruleset_compile(text, (size_t)n, &rs, &err);

    if (rc != RAMPART_RESULT_OK) {
        fprintf(stderr, "generation %u does not compile (result %u):\n%s\n", gen, (unsigned)rc,
                err != NULL ? rampart_error_message(err) : "");
        rampart_error_free(err);
        return NULL;
    }
    return rs;
}

static void pause_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    unsigned long reloads = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    unsigned long min_batches = argc > 2 ? strtoul(argv[2], NULL, 10) : 50;
    struct worker workers[WORKERS];
    unsigned long total = 0, failures = 0, i;
    unsigned gen;
    int done;

    pause_us = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    if (rampart_abi_version() >> 16 != RAMPART_ABI_VERSION >> 16) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    current = compile_generation(0);
    if (current == NULL)
        return 1;

    memset(workers, 0, sizeof workers);
    for (i = 0; i < WORKERS; i++) {
        workers[i].id = (unsigned)i;
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }

    /* Hot reload: compile the next generation, swap the pointer, release the old. */
    for (gen = 1; gen <= reloads; gen++) {
        rampart_ruleset *next = compile_generation(gen), *old;
        if (next == NULL) {
            failures++;
            break;
        }
        pthread_mutex_lock(&lock);
        old = current;
        current = next;
        generation = gen;
        pthread_mutex_unlock(&lock);
        rampart_ruleset_release(old); /* in-flight transactions keep it alive */
        if (gen % 8 == 0)
            pause_ms(1);
    }

    /* Let every worker do its share before stopping. */
    do {
        done = 1;
        pthread_mutex_lock(&lock);
        for (i = 0; i < WORKERS; i++)
            if (workers[i].batches < min_batches)
                done = 0;
        if (done)
            stop = 1;
        pthread_mutex_unlock(&lock);
        if (!done)
            pause_ms(2);
    } while (!done);

    for (i = 0; i < WORKERS; i++) {
        pthread_join(workers[i].thread, NULL);
        printf("worker %lu: %lu batches, %lu evaluations, %lu generations seen, %lu failures\n", i,
               workers[i].batches, workers[i].evaluations, workers[i].generations_seen,
               workers[i].failures);
        total += workers[i].evaluations;
        failures += workers[i].failures;
    }
    rampart_ruleset_release(current);
    printf("%lu reloads, %lu evaluations, %lu failures\n", reloads, total, failures);
    return failures == 0 && total > 0 ? 0 : 1;
}
