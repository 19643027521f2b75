# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The C invoke loop behind microdl.Interpreter.

`Engine` owns a C array of `mdl_node` (cext/include/mdl_node.h).  Python's prepare step
fills it once through `set_node` with addresses it has already validated (arena offsets,
constant buffers, prepare-time arrays it keeps alive); `run()` then executes every node
with the GIL released and without allocating.  With `threads` > 1 the Engine owns a
pool of worker threads (made here, once) that runs groups of independent nodes (row
slices of one convolution, see `set_groups`) concurrently.  Prepare also asks C here,
through `microdl.runtime.cparams`, for what it must not copy: the fast convolution's
patch length and scratch size (`conv_s8_fast_get_buffer_size`) and kernel constants.
"""
from libc.stdint cimport int32_t, uint32_t, uintptr_t
from libc.stdlib cimport calloc, free

from microdl.runtime._kernels cimport (
    MDL_MAX_NODE_INPUTS, MDL_MAX_THREADS, MDL_OK, mdl_kernel_table, mdl_node, mdl_pool,
    mdl_pool_deinit, mdl_pool_init, mdl_pool_size, mdl_pool_threads,
    mdl_run_nodes_grouped, mdl_status, mdl_build_config, mdl_cpu_uses_avx2,
    mdl_cpu_uses_neon,
    mdl_cpu_uses_avx512vnni,
)
from microdl.runtime cimport _kernels as K


cdef extern from "mdl_node.h":
    ctypedef struct mdl_pool_stats:
        uint32_t groups_parallel
        uint32_t groups_serial
        uint32_t stalls
        uint32_t starved
        uint32_t bands_caller
        uint32_t bands_workers
        uint32_t groups_whole
    void mdl_pool_get_stats(const mdl_pool* pool, mdl_pool_stats* out) nogil


def kernel_table():
    """Return {kernel name: (table index, [parameter field names])} from registry.c.

    Array fields appear as "name[n]"."""
    cdef int i = 0
    out = {}
    while mdl_kernel_table[i].name != NULL:
        fields = mdl_kernel_table[i].fields.decode("ascii").split(",")
        out[mdl_kernel_table[i].name.decode("ascii")] = (i, [f for f in fields if f])
        i += 1
    return out


def build_info():
    """What the C core was built with and what this CPU will run: {"arch", "compiler",
    "threads", "avx2_clones", "avx2_intrinsics", "neon_intrinsics": str from the build
    (cext/src/build_info.c), "cpu_uses_avx2", "cpu_uses_avx512vnni", "cpu_uses_neon": bool
    at run time}."""
    info = dict(kv.split("=", 1) for kv in mdl_build_config().decode("ascii").split())
    info["cpu_uses_avx2"] = bool(mdl_cpu_uses_avx2())
    info["cpu_uses_avx512vnni"] = bool(mdl_cpu_uses_avx512vnni())
    info["cpu_uses_neon"] = bool(mdl_cpu_uses_neon())
    return info


MAX_NODE_INPUTS = MDL_MAX_NODE_INPUTS
MAX_THREADS = MDL_MAX_THREADS

# Constants of the fast convolution kernels (cext/include/mdl_conv.h), read by prepare
# (microdl/runtime/cparams.py) instead of being copied into Python.
CONV_CONSTANTS = {
    "CONV_S8_FAST_MAX_BLOCK": K.MDL_CONV_S8_FAST_MAX_BLOCK,
    "CONV_FAST_ROWS": K.MDL_CONV_FAST_ROWS,
    "CONV_FAST_LANES": K.MDL_CONV_FAST_LANES,
    "CONV_FAST_LANES_C": K.MDL_CONV_FAST_LANES_C,
    "CONV_FAST_LANE_BLOCK": K.MDL_CONV_FAST_LANE_BLOCK,
    "CONV_S8_FAST_IM2COL_PIXEL": K.MDL_CONV_S8_FAST_IM2COL_PIXEL,
    "CONV_S8_FAST_IM2COL_ROW16": K.MDL_CONV_S8_FAST_IM2COL_ROW16,
    "CONV_S8_FAST_IM2COL_ROWS": K.MDL_CONV_S8_FAST_IM2COL_ROWS,
    "CONV_S8_FAST_RQ_INT16": K.MDL_CONV_S8_FAST_RQ_INT16,
    "CONV_S8_FAST_ROW16_MAX_FH": K.MDL_CONV_S8_FAST_ROW16_MAX_FH,
    "DEPTHWISE_FAST_MAX_MULTIPLIER": K.MDL_DEPTHWISE_FAST_MAX_MULTIPLIER,
    "DEPTHWISE_FAST_LANES": K.MDL_DEPTHWISE_FAST_LANES,
    "DEPTHWISE_FAST_LANES_C": K.MDL_DEPTHWISE_FAST_LANES_C,
    "DEPTHWISE_FAST_LANES_AVX2": K.MDL_DEPTHWISE_FAST_LANES_AVX2,
    "DEPTHWISE_FAST_LANES_MAX_TAPS": K.MDL_DEPTHWISE_FAST_LANES_MAX_TAPS,
    "DEPTHWISE_FAST_LANES_MAX_CHANNELS": K.MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS,
}


cdef const K.mdl_conv_s8_fast_params* _conv_s8_fast_params(const int32_t[::1] packed) except NULL:
    if packed.shape[0] * sizeof(int32_t) != sizeof(K.mdl_conv_s8_fast_params):
        raise ValueError(f"conv_s8_fast parameters: {packed.shape[0]} int32 values, the "
                         f"struct has {sizeof(K.mdl_conv_s8_fast_params) // sizeof(int32_t)}")
    return <const K.mdl_conv_s8_fast_params*>&packed[0]


def conv_s8_fast_patch_len(const int32_t[::1] packed):
    """mdl_conv_s8_fast_patch_len: int16 entries per patch, for a conv_s8_fast parameter
    struct packed in field order (microdl.runtime.cparams.pack_params)."""
    return K.mdl_conv_s8_fast_patch_len(_conv_s8_fast_params(packed))


def conv_s8_fast_get_buffer_size(const int32_t[::1] packed):
    """mdl_conv_s8_fast_get_buffer_size: bytes of arena scratch the kernel needs (-1 for
    out-of-range block_pixels or lanes), for a packed conv_s8_fast parameter struct."""
    return K.mdl_conv_s8_fast_get_buffer_size(_conv_s8_fast_params(packed))


# The fast FULLY_CONNECTED form's constants (cext/include/mdl_fully_connected.h), read
# by microdl/runtime/cparams.py (C) like CONV_CONSTANTS.
FC_CONSTANTS = {
    "FC_GEMV_BLOCK": K.MDL_FC_GEMV_BLOCK,
    "FC_GEMV_KC": K.MDL_FC_GEMV_KC,
    "FC_FAST_CHUNK": K.MDL_FC_FAST_CHUNK,
    "FC_GEMV_8C16": K.MDL_FC_GEMV_8C16,
    "FC_GEMV_8C16_C": K.MDL_FC_GEMV_8C16_C,
    "FC_GEMV_8C16_AVX2": K.MDL_FC_GEMV_8C16_AVX2,
    "FC_FAST_MAX_DEPTH": K.MDL_FC_FAST_MAX_DEPTH,
    "FC_REQUANT_FLOAT64": K.MDL_FC_REQUANT_FLOAT64,
    # the int8 ADD / SUB's s8-vadd microkernel (cext/include/mdl_elementwise.h)
    "ADD_UKERNEL_BEST": K.MDL_ADD_UKERNEL_BEST,
    "ADD_UKERNEL_C": K.MDL_ADD_UKERNEL_C,
}


class KernelError(RuntimeError):
    """A C kernel returned a non-zero status during invoke()."""


cdef class Engine:
    """A fixed-length list of C nodes, and optionally a pool of worker threads.

    Args:
        count: number of nodes.
        threads: threads that run node groups (the calling one included); 1 runs
            everything on the calling thread.  Where threads are unavailable (no
            POSIX threads) the pool is not made and `threads` reads 1.
    """
    cdef mdl_node* nodes
    cdef mdl_node* wholes
    cdef int32_t* group
    cdef mdl_pool* pool
    cdef int32_t count
    cdef int32_t failed_index
    cdef int status

    def __cinit__(self, int count, int threads=1):
        if count < 0:
            raise ValueError("node count must be >= 0")
        if not 1 <= threads <= MDL_MAX_THREADS:
            raise ValueError(f"threads must be in [1, {MDL_MAX_THREADS}], got {threads}")
        self.count = count
        self.nodes = <mdl_node*>calloc(max(count, 1), sizeof(mdl_node))
        self.wholes = <mdl_node*>calloc(max(count, 1), sizeof(mdl_node))
        self.group = <int32_t*>calloc(max(count, 1), sizeof(int32_t))
        if self.nodes == NULL or self.group == NULL or self.wholes == NULL:
            raise MemoryError()
        cdef int32_t i
        for i in range(count):
            self.group[i] = 1
        self.pool = NULL
        if threads > 1:
            self.pool = <mdl_pool*>calloc(1, mdl_pool_size())
            if self.pool == NULL:
                raise MemoryError()
            if mdl_pool_init(self.pool, threads) < 2:
                # No threads on this platform (or none could start): run serially.
                mdl_pool_deinit(self.pool)
                free(self.pool)
                self.pool = NULL

    def __dealloc__(self):
        if self.pool != NULL:
            with nogil:
                mdl_pool_deinit(self.pool)
            free(self.pool)
        free(self.nodes)
        free(self.wholes)
        free(self.group)

    @property
    def threads(self):
        """Threads that run node groups, the calling thread included."""
        return mdl_pool_threads(self.pool)

    def pool_stats(self):
        """Counters of the worker pool since it was made (cext/include/mdl_node.h,
        mdl_pool_stats; uint32, wrapping): {"groups_parallel": groups of bands run
        concurrently, "groups_serial": groups run on the calling thread alone during a
        backoff, "stalls": times the caller had to sleep until a preempted worker
        finished a band, "starved": windows of 64 concurrent groups in which the
        workers ran under an eighth of their fair share of bands (their cores were
        busy), "bands_caller" / "bands_workers": bands of the concurrent groups run by
        the calling thread / by the workers, "groups_whole": serial groups run as their
        one whole node (set_whole)}.  A stall and a starved window each start a
        backoff.  All 0 without a pool (threads == 1)."""
        cdef mdl_pool_stats st
        mdl_pool_get_stats(self.pool, &st)
        return {"groups_parallel": st.groups_parallel, "groups_serial": st.groups_serial,
                "stalls": st.stalls, "starved": st.starved, "bands_caller": st.bands_caller,
                "bands_workers": st.bands_workers, "groups_whole": st.groups_whole}

    def set_node(self, int i, int kernel_index, uintptr_t params, inputs,
                 uintptr_t output, uintptr_t scratch, bint whole=False):
        """Bind node i to kernel `kernel_index` of the table; whole=True binds instead
        the whole node of the group that starts at node i: one node computing all of
        the group's bands, run in their place when the group runs on the calling
        thread alone (cext/include/mdl_node.h, mdl_run_nodes_grouped).

        params, inputs[k], output and scratch are raw addresses (0 for NULL) whose
        memory the caller keeps alive and correctly sized for as long as this Engine."""
        if not 0 <= i < self.count:
            raise IndexError(f"node {i} out of range [0, {self.count})")
        if len(inputs) > MDL_MAX_NODE_INPUTS:
            raise ValueError(f"a node takes at most {MDL_MAX_NODE_INPUTS} inputs")
        cdef mdl_node* n = &self.wholes[i] if whole else &self.nodes[i]
        n.run = mdl_kernel_table[kernel_index].run
        n.params = <const void*>params
        cdef int k
        for k in range(MDL_MAX_NODE_INPUTS):
            n.in_[k] = NULL
        for k, addr in enumerate(inputs):
            n.in_[k] = <const void*><uintptr_t>addr
        n.out = <void*>output
        n.scratch = <void*>scratch

    def set_groups(self, sizes):
        """Declare groups of independent nodes: `sizes` lists, in node order, the
        length of each run of consecutive nodes (1: a node on its own; g > 1: g nodes
        that touch disjoint output and scratch memory and may run concurrently).

        Raises:
            ValueError: the sizes do not add up to the node count or one is < 1."""
        sizes = [int(s) for s in sizes]
        if any(s < 1 for s in sizes) or sum(sizes) != self.count:
            raise ValueError(f"group sizes must be >= 1 and add up to {self.count}")
        cdef int32_t i = 0
        for s in sizes:
            self.group[i] = s
            for k in range(i + 1, i + s):
                self.group[k] = 1
            i += s

    def run_range(self, int start, int stop):
        """Execute nodes [start, stop) only (profiling one layer at a time); their
        inputs must already hold valid data.  GIL released; raises KernelError."""
        if not 0 <= start <= stop <= self.count:
            raise IndexError(f"node range [{start}, {stop}) outside [0, {self.count}]")
        cdef mdl_status st
        cdef int32_t failed = 0
        with nogil:
            st = mdl_run_nodes_grouped(self.nodes + start, stop - start,
                                       self.group + start, self.wholes + start,
                                       self.pool, &failed)
        if st != MDL_OK:
            raise KernelError(f"kernel of node {start + failed} returned status {<int>st}")

    def run(self):
        """Execute all nodes in order with the GIL released; raises KernelError on a
        non-zero kernel status."""
        cdef mdl_status st
        with nogil:
            st = mdl_run_nodes_grouped(self.nodes, self.count, self.group, self.wholes,
                                       self.pool, &self.failed_index)
        if st != MDL_OK:
            raise KernelError(f"kernel of node {self.failed_index} returned status {<int>st}")
