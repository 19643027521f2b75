/* microdl: the invoke loop, and the worker pool that runs row slices of large
 * convolutions concurrently (num_threads > 1).
 *
 * The pool is made once, by allocate_tensors(), never during invoke (its memory comes
 * from the caller, mdl_pool_size bytes, so no C code here allocates): its threads wait
 * for work by spinning briefly on a generation counter (so the gaps between the
 * parallel layers of one invoke cost no system call) and then sleep on a condition
 * variable.  Dispatching a group allocates nothing.  Every node of a group writes its
 * own rows of the output and its own scratch, so the results do not depend on which
 * thread runs which node. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthreads and sched_yield under -std=c99 */
#endif
#include "mdl_node.h"

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

#if MDL_HAVE_THREADS
#include <pthread.h>
#include <sched.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spins before a waiting worker sleeps (a few hundred microseconds on current x86-64),
 * and before the dispatching thread starts yielding its core. */
#define WORKER_SPINS 20000
#define CALLER_SPINS 2000

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

typedef struct {
  struct mdl_pool* pool;
  int32_t rank; /* 1 .. threads - 1; the caller is rank 0 */
} worker_arg;

struct mdl_pool {
  int32_t threads;
  pthread_t tid[MDL_MAX_THREADS];
  worker_arg arg[MDL_MAX_THREADS];
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  uint32_t generation; /* bumped once per dispatched group */
  int32_t pending;     /* workers still running the current group */
  int32_t stop;
  int32_t busy;        /* a mdl_run_nodes_grouped call owns the pool */
  int32_t initialized; /* mutex and condition variable made */
  const mdl_node* job; /* the group: job[0 .. job_count) */
  int32_t job_count;
  mdl_status status[MDL_MAX_THREADS];
  int32_t failed[MDL_MAX_THREADS];
};

/* Rank r runs nodes r, r + threads, r + 2 * threads, ... of the group. */
static void run_share(struct mdl_pool* p, int32_t rank) {
  mdl_status st = MDL_OK;
  int32_t failed = 0;
  for (int32_t i = rank; i < p->job_count; i += p->threads) {
    st = p->job[i].run(&p->job[i]);
    if (st != MDL_OK) {
      failed = i;
      break;
    }
  }
  p->status[rank] = st;
  p->failed[rank] = failed;
}

static void* worker_main(void* varg) {
  worker_arg* a = (worker_arg*)varg;
  struct mdl_pool* p = a->pool;
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen;
    int32_t spins = 0;
    while ((gen = LOAD(p->generation)) == seen && !LOAD(p->stop)) {
      if (++spins < WORKER_SPINS) {
        CPU_RELAX();
        continue;
      }
      pthread_mutex_lock(&p->mutex);
      while (LOAD(p->generation) == seen && !LOAD(p->stop)) {
        pthread_cond_wait(&p->wake, &p->mutex);
      }
      pthread_mutex_unlock(&p->mutex);
      spins = 0;
    }
    if (LOAD(p->stop)) return NULL;
    seen = gen;
    run_share(p, a->rank);
    __atomic_fetch_sub(&p->pending, 1, __ATOMIC_ACQ_REL);
  }
}

size_t mdl_pool_size(void) { return sizeof(struct mdl_pool); }

int32_t mdl_pool_init(mdl_pool* p, int32_t threads) {
  if (!p || threads < 2 || threads > MDL_MAX_THREADS) return 0;
  memset(p, 0, sizeof *p);
  p->threads = 1;
  if (pthread_mutex_init(&p->mutex, NULL) != 0) return 0;
  if (pthread_cond_init(&p->wake, NULL) != 0) {
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
  STORE(p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  for (int32_t r = 1; r < p->threads; ++r) pthread_join(p->tid[r], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mutex);
  p->initialized = 0;
  p->threads = 1;
}

int32_t mdl_pool_threads(const mdl_pool* p) {
  return p && p->initialized ? p->threads : 1;
}

static mdl_status run_group(struct mdl_pool* p, const mdl_node* nodes, int32_t count,
                            int32_t* failed_index) {
  p->job = nodes;
  p->job_count = count;
  STORE(p->pending, p->threads - 1);
  pthread_mutex_lock(&p->mutex);
  __atomic_fetch_add(&p->generation, 1u, __ATOMIC_ACQ_REL);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  run_share(p, 0);
  int32_t spins = 0;
  while (LOAD(p->pending) != 0) {
    if (++spins < CALLER_SPINS) {
      CPU_RELAX();
    } else {
      sched_yield();
    }
  }
  for (int32_t r = 0; r < p->threads; ++r) {
    if (p->status[r] != MDL_OK) {
      *failed_index = p->failed[r];
      return p->status[r];
    }
  }
  return MDL_OK;
}
#else  /* no threads: every group runs on the calling thread */
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
#endif

mdl_status mdl_run_nodes_grouped(const mdl_node* nodes, int32_t count,
                                 const int32_t* group, mdl_pool* pool,
                                 int32_t* failed_index) {
#if MDL_HAVE_THREADS
  /* Two concurrent calls on one pool (one interpreter invoked from two threads at
   * once, which no runtime supports) must not corrupt the pool's counters and hang:
   * the second runs on its own thread. */
  if (pool && (!pool->initialized || pool->threads < 2 ||
               __atomic_exchange_n(&pool->busy, 1, __ATOMIC_ACQ_REL))) {
    pool = NULL;
  }
  struct mdl_pool* owned = pool;
#endif
  mdl_status result = MDL_OK;
  int32_t i = 0;
  while (i < count) {
    int32_t g = group ? group[i] : 1;
    if (g < 1 || g > count - i) g = 1;
    mdl_status st;
    int32_t failed = 0;
#if MDL_HAVE_THREADS
    if (g > 1 && pool) {
      st = run_group(pool, nodes + i, g, &failed);
    } else {
      st = mdl_run_nodes(nodes + i, g, &failed);
    }
#else
    (void)pool;
    st = mdl_run_nodes(nodes + i, g, &failed);
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
