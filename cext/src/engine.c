/* microdl: the invoke loop, and the worker pool that runs row bands of large
 * convolutions concurrently (num_threads > 1).
 *
 * The pool is made once, by allocate_tensors(), never during invoke (its memory comes
 * from the caller, mdl_pool_size bytes, so no C code here allocates).  Dispatching a
 * group allocates nothing.  Every node (band) of a group writes its own rows of the
 * output and its own scratch, so the results do not depend on which thread runs which
 * band.
 *
 * Built to degrade gracefully when the cores are busy with other processes:
 *  - Work claiming.  The bands of a group are handed out one at a time from an atomic
 *    claim word, and the calling thread claims too, from the start: whichever thread
 *    is actually running does the work, and a worker that is descheduled, asleep or
 *    slow to wake simply claims nothing.  The caller waits only for bands a worker has
 *    claimed and not finished.
 *  - Waiting workers spin on the claim word (bounded in time: the gaps between the
 *    parallel layers of one invoke cost no system call), then call sched_yield() for
 *    a bounded time (giving the core to any other runnable thread), then sleep on a
 *    condition variable.
 *  - A caller whose worker holds a band for much longer than the caller's own share
 *    took (the worker was preempted mid-band) spins only briefly, then sleeps until the
 *    band is done (an idle core lets the kernel move the preempted worker onto it), and
 *    counts a stall: the pool then runs groups on the calling thread alone for a
 *    backoff period that doubles with every stall (up to STALL_MAX_NS) and halves
 *    after RELAX_GROUPS stall-free parallel groups.  So under sustained contention
 *    invoke degrades to the one-thread time instead of waiting on other processes'
 *    time slices, and recovers when the cores are free again.
 *  - A backoff also starts when the workers are starved: over a window of
 *    SHARE_WINDOW parallel groups they ran less than an eighth of their fair share of
 *    the bands (threads - 1 of every `threads`); this backoff grows STARVE_GROWTH-fold
 *    each time, up to STARVE_MAX_NS.  (The window is long enough that a worker
 *    waking from sleep, which takes tens of microseconds, still gets its share: a
 *    shorter judgement misread every wake-up as starving once the kernels got
 *    fast.)  A worker that rarely gets to claim a band shares its core with another
 *    busy thread: it gains nothing, and each band it does claim risks a stall (it
 *    may lose the core mid-band for a whole time slice), so the pool stops opening
 *    groups to it.  While the pool runs serially the workers go to sleep and leave the
 *    cores to the caller and the other processes.  On idle cores the workers run about
 *    their fair share, so this does not trigger there.
 *  - A group run on the calling thread alone (a backoff) runs as its whole node when
 *    prepare gave it one (the unsplit convolution): one kernel call, not one per
 *    band.
 *
 * The claim word packs a 24-bit group generation with the index of the next band
 * (8 bits; CLOSED once the caller has stopped claiming): a claim is a compare-and-swap
 * that fails if the caller has moved on to another group, so a worker that wakes late
 * can never run a band of a group it did not see opened. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthreads, sched_yield and clock_gettime under -std=c99 */
#endif
#include "mdl_node.h"
#include "mdl_control.h"

mdl_status mdl_run_nodes(const mdl_node* nodes, int32_t count, int32_t* failed_index) {
  for (int32_t i = 0; i < count; ++i) {
    const mdl_status status = nodes[i].run(&nodes[i]);
    if (status != MDL_OK) {
      *failed_index = i;
      return status;
    }
  }
  return MDL_OK;
}

/* A group on the calling thread alone: its whole node when it has one, else its
 * bands in order. */
static mdl_status run_serial(const mdl_node* nodes, int32_t count, const mdl_node* whole,
                             int32_t* failed_index) {
  if (whole && whole->run) {
    *failed_index = 0;
    return whole->run(whole);
  }
  return mdl_run_nodes(nodes, count, failed_index);
}

#if MDL_HAVE_THREADS
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* A waiting worker spins this long, then yields its core this long, then sleeps.  The
 * spin covers the gaps between the parallel layers of one invoke and, usually, between
 * back-to-back invokes; the yield phase is short because a worker that keeps yielding
 * stays runnable on its core, and one that shares the caller's core (the kernel put it
 * there) must leave it: the next wake-up lets the kernel place it on a free core. */
#ifndef WORKER_SPIN_NS
#define WORKER_SPIN_NS 50000
#endif
#ifndef WORKER_YIELD_NS
#define WORKER_YIELD_NS 10000
#endif
/* The caller waits for claimed bands by spinning for twice the time its own share of
 * the group took plus this, then sleeps (and counts a stall). */
/* Serial backoff: its first length; after a stall it doubles up to STALL_MAX_NS,
 * after a starved window it grows STARVE_GROWTH-fold up to STARVE_MAX_NS (starving
 * is sustained contention, a stall can be one other process's time slice); both
 * lengths halve after RELAX_GROUPS parallel groups without either. */
#ifndef BACKOFF_MIN_NS
#define BACKOFF_MIN_NS 1000000
#endif
#ifndef STALL_MAX_NS
#define STALL_MAX_NS 100000000
#endif
#ifndef STARVE_MAX_NS
#define STARVE_MAX_NS 500000000
#endif
#ifndef STARVE_GROWTH
#define STARVE_GROWTH 4
#endif
#ifndef RELAX_GROUPS
#define RELAX_GROUPS 2048
#endif
/* Parallel groups over which the workers' share of bands is judged. */
#ifndef SHARE_WINDOW
#define SHARE_WINDOW 64
#endif
#define CALLER_SPIN_NS 20000
/* Spin iterations between two clock reads. */
#define CLOCK_EVERY 64

#define BAND_BITS 8
#define BAND_MASK ((1u << BAND_BITS) - 1u)
#define CLOSED BAND_MASK
#define GEN_MASK (0xFFFFFFFFu >> BAND_BITS)

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define LOAD_SC(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE_SC(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define LOAD_RLX(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ADD_RLX(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

typedef struct {
  struct mdl_pool* pool;
  int32_t rank; /* 1 .. threads - 1; the caller is rank 0 */
} worker_arg;

struct mdl_pool {
  int32_t threads;
  pthread_t tid[MDL_MAX_THREADS];
  worker_arg arg[MDL_MAX_THREADS];
  pthread_mutex_t mutex;
  pthread_cond_t wake;     /* sleeping workers wait here for a new group */
  pthread_cond_t finished; /* a sleeping caller waits here for claimed bands */
  uint32_t word;           /* claim word: generation << BAND_BITS | next band */
  const mdl_node* job;     /* the open group: job[0 .. job_count) */
  int32_t job_count;
  int32_t done;            /* bands of the current group finished */
  int32_t sleepers;        /* workers asleep on `wake` */
  int32_t caller_waiting;  /* the caller is (about to be) asleep on `finished` */
  int32_t stop;
  int32_t busy;            /* a mdl_run_nodes_grouped call owns the pool */
  int32_t initialized;     /* mutex and condition variables made */
  int32_t err_index;       /* lowest failing band of the group (INT32_MAX: none) */
  mdl_status err_status;
  /* The owning caller's state (only the thread holding `busy` writes it). */
  uint32_t gen;
  int64_t serial_until_ns;
  int64_t stall_backoff_ns;  /* the next backoff after a stall */
  int64_t starve_backoff_ns; /* the next backoff after a starved window */
  int32_t good_groups;
  int32_t window_groups;   /* parallel groups in the current share window */
  uint32_t window_bands;   /* bands of those groups, and how many workers ran */
  uint32_t window_workers;
  mdl_pool_stats stats;    /* counters; workers add to bands_workers */
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Claims the next band of group `gen`: its index, and the group's nodes in *job; -1
 * when that group is exhausted, closed or no longer the current one. */
static int32_t claim(struct mdl_pool* p, uint32_t gen, const mdl_node** job) {
  uint32_t w = LOAD(p->word);
  for (;;) {
    if ((w >> BAND_BITS) != gen) return -1;
    const uint32_t next = w & BAND_MASK;
    /* Read after the word: if these belong to a later group the word has changed and
     * the swap below fails (the caller publishes them, with release, only after
     * closing this group). */
    const mdl_node* nodes = LOAD(p->job);
    const int32_t count = LOAD(p->job_count);
    if (next >= (uint32_t)count) return -1; /* CLOSED is above any group size */
    if (__atomic_compare_exchange_n(&p->word, &w, w + 1u, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      *job = nodes;
      return (int32_t)next;
    }
  }
}

static void record_error(struct mdl_pool* p, int32_t index, mdl_status st) {
  pthread_mutex_lock(&p->mutex);
  if (index < p->err_index) {
    p->err_index = index;
    p->err_status = st;
  }
  pthread_mutex_unlock(&p->mutex);
}

/* Runs claimed bands of group `gen` until none is left (or one fails); returns the
 * number run. */
static int32_t run_claimed(struct mdl_pool* p, uint32_t gen, int32_t is_worker) {
  const mdl_node* job;
  int32_t i, ran = 0;
  while ((i = claim(p, gen, &job)) >= 0) {
    const mdl_status st = job[i].run(&job[i]);
    if (st != MDL_OK) record_error(p, i, st);
    ++ran;
    /* Counted before `done`, so the caller sees every finished band counted. */
    if (is_worker) ADD_RLX(p->stats.bands_workers, 1u);
    __atomic_fetch_add(&p->done, 1, __ATOMIC_SEQ_CST);
    if (is_worker && LOAD_SC(p->caller_waiting)) {
      pthread_mutex_lock(&p->mutex);
      pthread_cond_broadcast(&p->finished);
      pthread_mutex_unlock(&p->mutex);
    }
    if (st != MDL_OK) break;
  }
  return ran;
}

/* A worker's wait for a group other than `seen` (or stop): spin, yield, then sleep.
 * Returns the claim word that differs. */
static uint32_t wait_for_group(struct mdl_pool* p, uint32_t seen) {
  int64_t start = 0;
  uint32_t k = 0;
  for (;;) {
    const uint32_t w = LOAD(p->word);
    if ((w >> BAND_BITS) != seen || LOAD(p->stop)) return w;
    if (++k % CLOCK_EVERY != 0) {
      CPU_RELAX();
      continue;
    }
    const int64_t t = now_ns();
    if (start == 0) start = t;
    if (t - start < WORKER_SPIN_NS) {
      CPU_RELAX();
    } else if (t - start < WORKER_SPIN_NS + WORKER_YIELD_NS) {
      sched_yield();
    } else {
      pthread_mutex_lock(&p->mutex);
      __atomic_fetch_add(&p->sleepers, 1, __ATOMIC_SEQ_CST);
      while ((LOAD_SC(p->word) >> BAND_BITS) == seen && !LOAD(p->stop)) {
        pthread_cond_wait(&p->wake, &p->mutex);
      }
      __atomic_fetch_sub(&p->sleepers, 1, __ATOMIC_SEQ_CST);
      pthread_mutex_unlock(&p->mutex);
      start = 0;
      k = 0;
    }
  }
}

static void* worker_main(void* varg) {
  worker_arg* a = (worker_arg*)varg;
  struct mdl_pool* p = a->pool;
  uint32_t seen = LOAD(p->word) >> BAND_BITS;
  for (;;) {
    const uint32_t w = wait_for_group(p, seen);
    if (LOAD(p->stop)) return NULL;
    seen = w >> BAND_BITS;
    run_claimed(p, seen, 1);
  }
}

size_t mdl_pool_size(void) { return sizeof(struct mdl_pool); }

int32_t mdl_pool_init(mdl_pool* p, int32_t threads) {
  if (!p || threads < 2 || threads > MDL_MAX_THREADS) return 0;
  memset(p, 0, sizeof *p);
  p->threads = 1;
  p->word = CLOSED; /* generation 0, closed */
  p->stall_backoff_ns = BACKOFF_MIN_NS;
  p->starve_backoff_ns = BACKOFF_MIN_NS;
  if (pthread_mutex_init(&p->mutex, NULL) != 0) return 0;
  if (pthread_cond_init(&p->wake, NULL) != 0) {
    pthread_mutex_destroy(&p->mutex);
    return 0;
  }
  if (pthread_cond_init(&p->finished, NULL) != 0) {
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mutex);
    return 0;
  }
  p->initialized = 1;
  for (int32_t r = 1; r < threads; ++r) {
    p->arg[r].pool = p;
    p->arg[r].rank = r;
    if (pthread_create(&p->tid[r], NULL, worker_main, &p->arg[r]) != 0) break;
    p->threads = r + 1;
  }
  return p->threads;
}

void mdl_pool_deinit(mdl_pool* p) {
  if (!p || !p->initialized) return;
  pthread_mutex_lock(&p->mutex);
  STORE_SC(p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  for (int32_t r = 1; r < p->threads; ++r) pthread_join(p->tid[r], NULL);
  pthread_cond_destroy(&p->finished);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mutex);
  p->initialized = 0;
  p->threads = 1;
}

int32_t mdl_pool_threads(const mdl_pool* p) {
  return p && p->initialized ? p->threads : 1;
}

void mdl_pool_get_stats(const mdl_pool* p, mdl_pool_stats* out) {
  memset(out, 0, sizeof *out);
  if (!p || !p->initialized) return;
  out->groups_parallel = LOAD_RLX(p->stats.groups_parallel);
  out->groups_serial = LOAD_RLX(p->stats.groups_serial);
  out->stalls = LOAD_RLX(p->stats.stalls);
  out->starved = LOAD_RLX(p->stats.starved);
  out->bands_caller = LOAD_RLX(p->stats.bands_caller);
  out->bands_workers = LOAD_RLX(p->stats.bands_workers);
  out->groups_whole = LOAD_RLX(p->stats.groups_whole);
}

/* The caller's wait for the `claimed` bands of the closed group; returns 1 if it had
 * to sleep (a stall), 0 otherwise.  `share_ns`: how long the caller's own share took. */
static int32_t wait_for_bands(struct mdl_pool* p, int32_t claimed, int64_t share_ns) {
  if (LOAD(p->done) == claimed) return 0;
  const int64_t start = now_ns();
  const int64_t limit = 2 * share_ns + CALLER_SPIN_NS;
  uint32_t k = 0;
  while (LOAD(p->done) != claimed) {
    if (++k % CLOCK_EVERY == 0 && now_ns() - start > limit) {
      STORE_SC(p->caller_waiting, 1);
      pthread_mutex_lock(&p->mutex);
      while (LOAD_SC(p->done) != claimed) pthread_cond_wait(&p->finished, &p->mutex);
      pthread_mutex_unlock(&p->mutex);
      STORE_SC(p->caller_waiting, 0);
      return 1;
    }
    CPU_RELAX();
  }
  return 0;
}

static int64_t grow(int64_t ns, int64_t factor, int64_t max_ns) {
  return ns > max_ns / factor ? max_ns : ns * factor;
}

static int64_t shrink(int64_t ns) {
  return ns / 2 < BACKOFF_MIN_NS ? BACKOFF_MIN_NS : ns / 2;
}

static mdl_status run_group(struct mdl_pool* p, const mdl_node* nodes, int32_t count,
                            const mdl_node* whole, int32_t* failed_index) {
  const int64_t t0 = now_ns();
  if (t0 < p->serial_until_ns) {
    ADD_RLX(p->stats.groups_serial, 1u);
    if (whole && whole->run) ADD_RLX(p->stats.groups_whole, 1u);
    return run_serial(nodes, count, whole, failed_index);
  }
  /* Open the group.  No worker touches job, done or err_index now: the previous
   * group was closed and all its claimed bands finished. */
  const uint32_t gen = (p->gen + 1u) & GEN_MASK;
  p->gen = gen;
  p->err_index = INT32_MAX;
  p->err_status = MDL_OK;
  __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
  STORE(p->job, nodes);
  STORE(p->job_count, count);
  STORE_SC(p->word, gen << BAND_BITS);
  if (LOAD_SC(p->sleepers) > 0) {
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
  }
  const int32_t mine = run_claimed(p, gen, 0);
  /* Close: no claim succeeds after this; the bands claimed so far are counted. */
  const uint32_t last = __atomic_exchange_n(&p->word, (gen << BAND_BITS) | CLOSED,
                                            __ATOMIC_ACQ_REL);
  const int32_t claimed = (int32_t)(last & BAND_MASK);
  const int32_t stalled = wait_for_bands(p, claimed, now_ns() - t0);
  ADD_RLX(p->stats.groups_parallel, 1u);
  ADD_RLX(p->stats.bands_caller, (uint32_t)mine);
  /* The workers' share of this window's bands (claimed - mine ran on workers). */
  int32_t starved = 0;
  p->window_bands += (uint32_t)claimed;
  p->window_workers += (uint32_t)(claimed - mine);
  ++p->window_groups;
  if (p->window_groups >= SHARE_WINDOW) {
    /* fair share = bands * (threads - 1) / threads; starved below an eighth of it */
    starved = (uint64_t)p->window_workers * 8u * (uint64_t)p->threads <
              (uint64_t)p->window_bands * (uint64_t)(p->threads - 1);
    p->window_groups = 0;
    p->window_bands = 0;
    p->window_workers = 0;
  }
  if (stalled || starved) {
    int64_t backoff = 0;
    if (stalled) {
      ADD_RLX(p->stats.stalls, 1u);
      backoff = p->stall_backoff_ns;
      p->stall_backoff_ns = grow(p->stall_backoff_ns, 2, STALL_MAX_NS);
    }
    if (starved) {
      ADD_RLX(p->stats.starved, 1u);
      if (p->starve_backoff_ns > backoff) backoff = p->starve_backoff_ns;
      p->starve_backoff_ns = grow(p->starve_backoff_ns, STARVE_GROWTH, STARVE_MAX_NS);
    }
    p->serial_until_ns = now_ns() + backoff;
    p->good_groups = 0;
    p->window_groups = 0;
    p->window_bands = 0;
    p->window_workers = 0;
  } else if (++p->good_groups >= RELAX_GROUPS) {
    p->good_groups = 0;
    p->stall_backoff_ns = shrink(p->stall_backoff_ns);
    p->starve_backoff_ns = shrink(p->starve_backoff_ns);
  }
  if (p->err_index != INT32_MAX) {
    *failed_index = p->err_index;
    return p->err_status;
  }
  return MDL_OK;
}
#else  /* no threads: every group runs on the calling thread */
#include <string.h>
struct mdl_pool {
  int32_t unused;
};
size_t mdl_pool_size(void) { return sizeof(struct mdl_pool); }
int32_t mdl_pool_init(mdl_pool* p, int32_t threads) {
  (void)p;
  (void)threads;
  return 0;
}
void mdl_pool_deinit(mdl_pool* p) { (void)p; }
int32_t mdl_pool_threads(const mdl_pool* p) {
  (void)p;
  return 1;
}
void mdl_pool_get_stats(const mdl_pool* p, mdl_pool_stats* out) {
  (void)p;
  memset(out, 0, sizeof *out);
}
#endif

mdl_status mdl_run_nodes_grouped(const mdl_node* nodes, int32_t count,
                                 const int32_t* group, const mdl_node* wholes,
                                 mdl_pool* pool, int32_t* failed_index) {
#if MDL_HAVE_THREADS
  /* Two concurrent calls on one pool (one interpreter invoked from two threads at
   * once, which no runtime supports) must not corrupt the pool's state and hang: the
   * second runs on its own thread. */
  if (pool && (!pool->initialized || pool->threads < 2 ||
               __atomic_exchange_n(&pool->busy, 1, __ATOMIC_ACQ_REL))) {
    pool = NULL;
  }
  struct mdl_pool* owned = pool;
#endif
  mdl_status result = MDL_OK;
  int32_t i = 0;
  int32_t back_edges = 0; /* loop iterations taken (mdl_control.h) */
  while (i < count) {
    if (nodes[i].run == mdl_node_cf_branch) {
      /* A jump (IF, WHILE, CALL_ONCE lowered to nodes): targets outside this range
       * (a sub-range run while profiling) end the run. */
      const mdl_cf_branch_params* p = (const mdl_cf_branch_params*)nodes[i].params;
      if (!mdl_cf_branch_taken(&nodes[i])) {
        ++i;
        continue;
      }
      if (p->when == MDL_CF_TRAP_IF_FALSE) {
        *failed_index = i;
        result = MDL_ERR_UNSET_VARIABLE;
        break;
      }
      if (p->target <= i && ++back_edges > p->max_iterations) {
        *failed_index = i;
        result = MDL_ERR_LOOP_LIMIT;
        break;
      }
      if (p->target < 0 || p->target > count) break;
      i = p->target;
      continue;
    }
    int32_t g = group ? group[i] : 1;
    if (g < 1 || g > count - i) g = 1;
    mdl_status st;
    int32_t failed = 0;
    const mdl_node* whole = g > 1 && wholes ? wholes + i : 0;
#if MDL_HAVE_THREADS
    if (g > 1 && g <= MDL_POOL_MAX_GROUP && pool) {
      st = run_group(pool, nodes + i, g, whole, &failed);
    } else {
      st = run_serial(nodes + i, g, whole, &failed);
    }
#else
    (void)pool;
    st = run_serial(nodes + i, g, whole, &failed);
#endif
    if (st != MDL_OK) {
      *failed_index = i + failed;
      result = st;
      break;
    }
    i += g;
  }
#if MDL_HAVE_THREADS
  if (owned) STORE(owned->busy, 0);
#endif
  return result;
}
