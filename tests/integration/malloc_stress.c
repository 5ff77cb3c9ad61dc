/* SPDX-License-Identifier: MIT */
/* Multi-threaded malloc stress with verified contents, for kheap's malloc
 * drop-in (and any malloc: run it with and without LD_PRELOAD, the output
 * must be the same).
 *   malloc_stress [threads] [rounds]
 * Phases:
 *  1. ring: each thread allocates batches of blocks of mixed sizes, fills
 *     them with a pattern of (thread, batch, index) and passes each batch to
 *     the next thread, which checks the pattern, grows or shrinks some
 *     blocks with realloc, checks again and frees them: every free and
 *     realloc there is of another thread's block.
 *  2. exit: threads fill blocks and exit with them live; the main thread
 *     checks and frees them after the join, then new threads (which take
 *     over the exited threads' heaps) allocate and check again.
 *  3. fork: while threads allocate and free, the main thread forks; each
 *     child allocates, frees and reallocs (blocks of its own and blocks the
 *     parent's threads made), starts a thread of its own, and exits with the
 *     result; the parent's threads go on unharmed.
 * Prints a line per phase with counts that do not depend on scheduling, and
 * ends with "stress: N passed, N failed".
 *   malloc_stress bench THREADS MILLION_OPS
 * is the allocation-bound workload of the scaling benchmark instead: the
 * operations are split between the threads; each replaces random blocks of
 * its own (16 to 512 bytes, two bytes checked) and hands every 256th
 * operation a batch of 32 blocks to the next thread, which frees them (at
 * most 8 batches wait for a thread; beyond that a batch is freed by the
 * thread that made it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void check(int ok, const char *what)
{
    pthread_mutex_lock(&report_lock);
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s\n", what);
    }
    pthread_mutex_unlock(&report_lock);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mostly small blocks, some medium, a few large ones (huge on kheap). */
static size_t pick_size(uint64_t *s)
{
    uint64_t r = rng(s) % 1000;
    if (r < 700) return (size_t)(rng(s) % 256);
    if (r < 960) return 256 + (size_t)(rng(s) % 8192);
    if (r < 998) return 8192 + (size_t)(rng(s) % 262144);
    return (4u << 20) + (size_t)(rng(s) % (1u << 20));
}

/* Block layout: [size_t n][uint32_t tag][pattern bytes...] */
struct blk {
    size_t n;
    uint32_t tag;
    unsigned char data[];
};

static struct blk *make(size_t n, uint32_t tag)
{
    struct blk *b = malloc(sizeof(struct blk) + n);
    if (!b) return NULL;
    b->n = n;
    b->tag = tag;
    for (size_t i = 0; i < n; i++) b->data[i] = (unsigned char)(tag * 31u + i);
    return b;
}

static int intact(const struct blk *b, uint32_t tag)
{
    if (b->tag != tag) return 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->data[i] != (unsigned char)(tag * 31u + i)) return 0;
    return 1;
}

/* --- 1. ring ------------------------------------------------------------- */

#define BATCH 64
struct batch {
    struct batch *next;
    uint32_t from, seq;
    struct blk *b[BATCH];
};

struct mailbox {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct batch *head, *tail;
};

static int nthreads, rounds;
static struct mailbox *boxes;
static unsigned long long ring_checked[64];

static void post(struct mailbox *m, struct batch *b)
{
    b->next = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->tail)
        m->tail->next = b;
    else
        m->head = b;
    m->tail = b;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static struct batch *take(struct mailbox *m)
{
    pthread_mutex_lock(&m->lock);
    while (!m->head) pthread_cond_wait(&m->cond, &m->lock);
    struct batch *b = m->head;
    m->head = b->next;
    if (!m->head) m->tail = NULL;
    pthread_mutex_unlock(&m->lock);
    return b;
}

static void consume(int self, struct batch *bt)
{
    int ok = 1;
    uint64_t s = (uint64_t)bt->seq * 7919 + (uint64_t)self + 1;
    for (int i = 0; i < BATCH; i++) {
        uint32_t tag = (bt->from << 24) ^ (bt->seq << 8) ^ (uint32_t)i;
        struct blk *b = bt->b[i];
        if (!b) {
            ok = 0;
            continue;
        }
        ok &= intact(b, tag);
        if (rng(&s) % 4 == 0) {
            /* Another thread's block: realloc moves or keeps it, the prefix
             * stays. */
            size_t n = pick_size(&s), keep = n < b->n ? n : b->n;
            struct blk *r = realloc(b, sizeof(struct blk) + n);
            if (!r) {
                ok = 0;
                free(b);
                continue;
            }
            r->n = keep;
            ok &= intact(r, tag);
            b = r;
        }
        ring_checked[self] += b->n;
        free(b);
    }
    free(bt);
    check(ok, "ring: a block passed between threads changed");
}

static void *ring_thread(void *arg)
{
    int self = (int)(intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(self + 1);
    for (int r = 0; r < rounds; r++) {
        struct batch *bt = malloc(sizeof(*bt));
        check(bt != NULL, "ring: malloc of a batch");
        if (!bt) return NULL;
        bt->from = (uint32_t)self;
        bt->seq = (uint32_t)r;
        for (int i = 0; i < BATCH; i++) {
            uint32_t tag = ((uint32_t)self << 24) ^ ((uint32_t)r << 8) ^ (uint32_t)i;
            bt->b[i] = make(pick_size(&s), tag);
        }
        post(&boxes[(self + 1) % nthreads], bt);
        consume(self, take(&boxes[self]));
    }
    return NULL;
}

static void phase_ring(void)
{
    pthread_t t[64];
    boxes = calloc((size_t)nthreads, sizeof(*boxes));
    for (int i = 0; i < nthreads; i++) {
        pthread_mutex_init(&boxes[i].lock, NULL);
        pthread_cond_init(&boxes[i].cond, NULL);
        ring_checked[i] = 0;
    }
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, ring_thread, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    unsigned long long total = 0;
    for (int i = 0; i < nthreads; i++) total += ring_checked[i];
    free(boxes);
    printf("ring: %d threads x %d batches of %d blocks checked (%llu bytes)\n", nthreads, rounds,
           BATCH, total);
}

/* --- 2. threads exiting with live blocks --------------------------------- */

#define EXIT_BLOCKS 2000
struct exit_job {
    int id;
    struct blk *b[EXIT_BLOCKS];
};

static void *exit_thread(void *arg)
{
    struct exit_job *j = arg;
    uint64_t s = (uint64_t)j->id * 1000003 + 17;
    /* Churn first, so the heap has free and live blocks when it is left. */
    for (int i = 0; i < EXIT_BLOCKS; i++) {
        j->b[i] = make(pick_size(&s) % 4096, (uint32_t)(j->id * EXIT_BLOCKS + i));
        if (i % 3 == 2) {
            free(j->b[i - 1]);
            j->b[i - 1] = make(pick_size(&s) % 512, (uint32_t)(j->id * EXIT_BLOCKS + i - 1));
        }
    }
    return NULL;
}

static void phase_exit(void)
{
    int gens = 3, checked = 0;
    for (int g = 0; g < gens; g++) {
        pthread_t t[64];
        struct exit_job *jobs = calloc((size_t)nthreads, sizeof(*jobs));
        for (int i = 0; i < nthreads; i++) {
            jobs[i].id = g * nthreads + i;
            pthread_create(&t[i], NULL, exit_thread, &jobs[i]);
        }
        for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
        /* The threads are gone; their blocks must still hold their data. */
        int ok = 1;
        for (int i = 0; i < nthreads; i++)
            for (int k = 0; k < EXIT_BLOCKS; k++) {
                ok &=
                    jobs[i].b[k] && intact(jobs[i].b[k], (uint32_t)(jobs[i].id * EXIT_BLOCKS + k));
                checked++;
                free(jobs[i].b[k]);
            }
        free(jobs);
        check(ok, "exit: a block of an exited thread changed");
    }
    printf("exit: %d generations of %d threads, %d blocks outlived their thread\n", gens, nthreads,
           checked);
}

/* --- 3. fork while threads allocate --------------------------------------- */

static volatile int stop_churn;
static struct blk *shared_blocks[256];

static void *churn_thread(void *arg)
{
    uint64_t s = (uint64_t)(intptr_t)arg * 77 + 5;
    struct blk *mine[64] = {0};
    unsigned long it = 0;
    int ok = 1;
    while (!__atomic_load_n(&stop_churn, __ATOMIC_ACQUIRE)) {
        int k = (int)(rng(&s) % 64);
        if (mine[k]) {
            ok &= intact(mine[k], (uint32_t)k);
            free(mine[k]);
        }
        mine[k] = make(pick_size(&s) % 20000, (uint32_t)k);
        it++;
    }
    for (int k = 0; k < 64; k++)
        if (mine[k]) {
            ok &= intact(mine[k], (uint32_t)k);
            free(mine[k]);
        }
    check(ok, "fork: a churning thread's block changed");
    return NULL;
}

static void *child_thread(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < 1000; i++) {
        struct blk *b = make((size_t)i * 13 % 3000, (uint32_t)i);
        *ok &= b && intact(b, (uint32_t)i);
        free(b);
    }
    return NULL;
}

static int fork_child_work(void)
{
    int ok = 1;
    /* Blocks the parent's threads made before the fork. */
    for (int i = 0; i < 256; i++) {
        ok &= intact(shared_blocks[i], (uint32_t)(5000 + i));
        if (i % 2) {
            struct blk *r = realloc(shared_blocks[i], sizeof(struct blk) + 50000);
            ok &= r && intact(r, (uint32_t)(5000 + i));
            shared_blocks[i] = r;
        }
        free(shared_blocks[i]);
    }
    for (int i = 0; i < 2000; i++) {
        struct blk *b = make((size_t)(i * 7) % 9000, (uint32_t)i);
        ok &= b && intact(b, (uint32_t)i);
        free(b);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, &ok) != 0) return 1;
    pthread_join(t, NULL);
    return ok ? 0 : 1;
}

static void *maker_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 256; i++) shared_blocks[i] = make((size_t)i * 37, (uint32_t)(5000 + i));
    return NULL;
}

static void phase_fork(void)
{
    pthread_t maker, t[64];
    pthread_create(&maker, NULL, maker_thread, NULL);
    pthread_join(maker, NULL);
    __atomic_store_n(&stop_churn, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, churn_thread, (void *)(intptr_t)i);
    int forks = 20, good = 0;
    for (int f = 0; f < forks; f++) {
        usleep(2000);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) _exit(fork_child_work());
        int st = 0;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) good++;
    }
    check(good == forks, "fork: a child failed");
    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    int ok = 1;
    for (int i = 0; i < 256; i++) {
        ok &= intact(shared_blocks[i], (uint32_t)(5000 + i));
        free(shared_blocks[i]);
    }
    check(ok, "fork: the parent's blocks changed");
    printf("fork: %d of %d children forked among %d allocating threads succeeded\n", good, forks,
           nthreads);
}

/* --- bench --------------------------------------------------------------- */

struct hand {
    pthread_mutex_t lock;
    void *list; /* blocks linked through their first word */
    int pending;
};
static struct hand hands[64];
static long bench_ops;
static unsigned long long bench_bad[64];

static void *bench_thread(void *arg)
{
    int self = (int)(intptr_t)arg;
    enum { SLOTS = 1024 };
    unsigned char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    uint64_t s = 0x2545f4914f6cdd1dull * (uint64_t)(self + 1);
    unsigned long long bad = 0;
    for (long i = 0; i < bench_ops; i++) {
        unsigned k = (unsigned)(rng(&s) % SLOTS);
        if (slot[k]) {
            bad += slot[k][0] != (unsigned char)k || slot[k][len[k] - 1] != (unsigned char)k;
            free(slot[k]);
        }
        len[k] = 16 + (size_t)(rng(&s) % 497);
        slot[k] = malloc(len[k]);
        slot[k][0] = slot[k][len[k] - 1] = (unsigned char)k;
        if ((i & 255) == 255) {
            /* Hand 32 blocks to the next thread; free what was handed here. */
            void *batch = NULL;
            for (int j = 0; j < 32; j++) {
                void **b = malloc(64);
                *b = batch;
                batch = b;
            }
            /* At most 8 batches wait for a thread (one that is not running
             * must not make the others' memory grow): beyond that the
             * batch is freed here. */
            struct hand *to = &hands[(self + 1) % nthreads], *me = &hands[self];
            pthread_mutex_lock(&to->lock);
            if (to->pending < 8 * 32) {
                void **last = batch;
                while (*last) last = *last;
                *last = to->list;
                to->list = batch;
                to->pending += 32;
                batch = NULL;
            }
            pthread_mutex_unlock(&to->lock);
            while (batch) {
                void *next = *(void **)batch;
                free(batch);
                batch = next;
            }
            pthread_mutex_lock(&me->lock);
            void *got = me->list;
            me->list = NULL;
            me->pending = 0;
            pthread_mutex_unlock(&me->lock);
            while (got) {
                void *next = *(void **)got;
                free(got);
                got = next;
            }
        }
    }
    for (unsigned k = 0; k < SLOTS; k++) free(slot[k]);
    bench_bad[self] = bad;
    return NULL;
}

static int bench(int threads, long million)
{
    pthread_t t[64];
    nthreads = threads;
    bench_ops = million * 1000000 / threads;
    for (int i = 0; i < threads; i++) pthread_mutex_init(&hands[i].lock, NULL);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, bench_thread, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    unsigned long long bad = 0;
    for (int i = 0; i < threads; i++) {
        bad += bench_bad[i];
        while (hands[i].list) {
            void *next = *(void **)hands[i].list;
            free(hands[i].list);
            hands[i].list = next;
        }
    }
    printf("bench: %d threads, %ld operations each, %llu blocks changed\n", threads, bench_ops,
           bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "bench") == 0) {
        int t = atoi(argv[2]);
        long m = atol(argv[3]);
        if (t < 1 || t > 64 || m < 1) return 2;
        return bench(t, m);
    }
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    rounds = argc > 2 ? atoi(argv[2]) : 200;
    if (nthreads < 1 || nthreads > 64 || rounds < 1) {
        fprintf(stderr, "usage: malloc_stress [threads 1..64] [rounds]\n");
        return 2;
    }
    phase_ring();
    phase_exit();
    phase_fork();
    printf("stress: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
