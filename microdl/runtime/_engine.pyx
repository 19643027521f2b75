# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The C invoke loop behind microdl.Interpreter.

`Engine` owns a C array of `mdl_node` (cext/include/mdl_node.h).  Python's prepare step
fills it once through `set_node` with addresses it has already validated (arena offsets,
constant buffers, prepare-time arrays it keeps alive); `run()` then executes every node
with the GIL released and without allocating.
"""
from libc.stdint cimport int32_t, uintptr_t
from libc.stdlib cimport calloc, free

from microdl.runtime._kernels cimport (
    MDL_MAX_NODE_INPUTS, MDL_OK, mdl_kernel_table, mdl_node, mdl_run_nodes, mdl_status,
)


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


MAX_NODE_INPUTS = MDL_MAX_NODE_INPUTS


class KernelError(RuntimeError):
    """A C kernel returned a non-zero status during invoke()."""


cdef class Engine:
    """A fixed-length list of C nodes.

    Args:
        count: number of nodes.
    """
    cdef mdl_node* nodes
    cdef int32_t count
    cdef int32_t failed_index
    cdef int status

    def __cinit__(self, int count):
        if count < 0:
            raise ValueError("node count must be >= 0")
        self.count = count
        self.nodes = <mdl_node*>calloc(max(count, 1), sizeof(mdl_node))
        if self.nodes == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.nodes)

    def set_node(self, int i, int kernel_index, uintptr_t params, inputs,
                 uintptr_t output, uintptr_t scratch):
        """Bind node i to kernel `kernel_index` of the table.

        params, inputs[k], output and scratch are raw addresses (0 for NULL) whose
        memory the caller keeps alive and correctly sized for as long as this Engine."""
        if not 0 <= i < self.count:
            raise IndexError(f"node {i} out of range [0, {self.count})")
        if len(inputs) > MDL_MAX_NODE_INPUTS:
            raise ValueError(f"a node takes at most {MDL_MAX_NODE_INPUTS} inputs")
        cdef mdl_node* n = &self.nodes[i]
        n.run = mdl_kernel_table[kernel_index].run
        n.params = <const void*>params
        cdef int k
        for k in range(MDL_MAX_NODE_INPUTS):
            n.in_[k] = NULL
        for k, addr in enumerate(inputs):
            n.in_[k] = <const void*><uintptr_t>addr
        n.out = <void*>output
        n.scratch = <void*>scratch

    def run_range(self, int start, int stop):
        """Execute nodes [start, stop) only (profiling one layer at a time); their
        inputs must already hold valid data.  GIL released; raises KernelError."""
        if not 0 <= start <= stop <= self.count:
            raise IndexError(f"node range [{start}, {stop}) outside [0, {self.count}]")
        cdef mdl_status st
        cdef int32_t failed = 0
        with nogil:
            st = mdl_run_nodes(self.nodes + start, stop - start, &failed)
        if st != MDL_OK:
            raise KernelError(f"kernel of node {start + failed} returned status {<int>st}")

    def run(self):
        """Execute all nodes in order with the GIL released; raises KernelError on a
        non-zero kernel status."""
        cdef mdl_status st
        with nogil:
            st = mdl_run_nodes(self.nodes, self.count, &self.failed_index)
        if st != MDL_OK:
            raise KernelError(f"kernel of node {self.failed_index} returned status {<int>st}")
