/* microdl: one executable step of a prepared graph.
 *
 * Python's prepare step lowers every TFLite op to one or more nodes.  A node names a
 * kernel entry (`run`), a parameter struct of int32_t fields (`params`, see
 * MDL_DECLARE_PARAMS), and resolved data pointers: inputs (arena tensors, constant
 * weights read in place from the model, or prepare-time arrays such as per-channel
 * multipliers and lookup tables), the output tensor and an arena scratch buffer.
 * Every pointer and size was validated in Python; entries do no validation of their
 * own beyond what is free.
 */
#ifndef MDL_NODE_H
#define MDL_NODE_H

#include "mdl_types.h"

#define MDL_MAX_NODE_INPUTS 32

struct mdl_node;
typedef mdl_status (*mdl_node_fn)(const struct mdl_node* node);

typedef struct mdl_node {
  mdl_node_fn run;                         /* kernel entry, e.g. mdl_node_conv_s8 */
  const void* params;                      /* kernel's int32_t parameter struct */
  const void* in[MDL_MAX_NODE_INPUTS];     /* inputs in the order the kernel documents */
  void* out;                               /* output tensor data */
  void* scratch;                           /* arena scratch or NULL */
} mdl_node;

/* One entry of the kernel table (registry.c): name, entry and the parameter field names. */
typedef struct {
  const char* name;
  mdl_node_fn run;
  const char* fields; /* "a,b,c[4]," in struct order */
} mdl_kernel_info;

extern const mdl_kernel_info mdl_kernel_table[];

/* Runs nodes[0..count) in order.  Returns MDL_OK, or the first failing status with its
 * node index in *failed_index.  Never allocates; safe to call without the GIL. */
mdl_status mdl_run_nodes(const mdl_node* nodes, int32_t count, int32_t* failed_index);

/* ------------------------------------------------------------ worker pool
 * num_threads > 1: consecutive nodes that write disjoint parts of one output (row
 * bands of a convolution, made by prepare) form a group that runs concurrently on a
 * pool of threads made once by allocate_tensors().  The bands are claimed one at a
 * time by whichever threads are running, the calling thread included, so a worker
 * that is descheduled or asleep delays nothing it has not started; after a worker
 * held the caller up (it was preempted mid-band), the pool runs groups on the calling
 * thread alone for a backoff period (cext/src/engine.c).  Threads need POSIX threads
 * and GCC/Clang atomics; elsewhere (MDL_HAVE_THREADS 0) mdl_pool_init returns 0 and
 * groups run on the calling thread, with the same results. */
#ifndef MDL_HAVE_THREADS
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) && \
    !defined(MDL_NO_THREADS)
#define MDL_HAVE_THREADS 1
#else
#define MDL_HAVE_THREADS 0
#endif
#endif

#define MDL_MAX_THREADS 64
/* Larger groups run on the calling thread (prepare makes one band per thread). */
#define MDL_POOL_MAX_GROUP 254

typedef struct mdl_pool mdl_pool;

/* Counters of a pool since mdl_pool_init (uint32, wrapping): groups run concurrently,
 * groups run on the calling thread during a backoff, stalls (the caller had to sleep
 * until a worker finished a band), starved windows (the workers ran under a quarter
 * of their fair share of bands over a window of groups: their cores are busy), and
 * bands run by the calling thread and by the workers in the concurrent groups.  A
 * stall and a starved window each start a backoff. */
typedef struct {
  uint32_t groups_parallel;
  uint32_t groups_serial;
  uint32_t stalls;
  uint32_t starved;
  uint32_t bands_caller;
  uint32_t bands_workers;
  uint32_t groups_whole; /* serial groups run as their one whole node */
} mdl_pool_stats;

/* Bytes of memory a pool needs; the caller provides them (prepare time). */
size_t mdl_pool_size(void);

/* Starts threads - 1 worker threads (the calling thread is the other one) in the
 * mdl_pool_size() bytes at pool.  Returns the threads now running, the caller
 * included (fewer than asked if thread creation failed), or 0 when threads < 2,
 * threads > MDL_MAX_THREADS or threads are unavailable: then the pool must not be
 * used (pass NULL instead).  Call at prepare time only. */
int32_t mdl_pool_init(mdl_pool* pool, int32_t threads);

/* Stops and joins the workers of an initialized pool (other pools: no-op); the caller
 * then frees the memory.  Must not overlap a mdl_run_nodes_grouped call on the pool. */
void mdl_pool_deinit(mdl_pool* pool);

/* Threads of the pool, the caller included (1 for NULL). */
int32_t mdl_pool_threads(const mdl_pool* pool);

/* The pool's counters (all 0 for NULL, an uninitialized pool or no threads). */
void mdl_pool_get_stats(const mdl_pool* pool, mdl_pool_stats* out);

/* As mdl_run_nodes, but group[i] > 1 at the first node of a group of group[i]
 * consecutive independent nodes runs them on the pool (any node on any thread); group
 * may be NULL (all 1), pool may be NULL (groups run in order).  wholes (NULL, or one
 * node per node): when wholes[i].run is set at the first node of a group, that one
 * node computes the whole group's output (the unsplit convolution whose row bands the
 * group holds) and runs instead of the bands whenever the group runs on the calling
 * thread alone (a backoff, no pool): one kernel call instead of one per band, same
 * results.  Never allocates; safe to call without the GIL.  A second call on a pool
 * that is in use runs entirely on its own calling thread. */
mdl_status mdl_run_nodes_grouped(const mdl_node* nodes, int32_t count,
                                 const int32_t* group, const mdl_node* wholes,
                                 mdl_pool* pool, int32_t* failed_index);

#endif /* MDL_NODE_H */
