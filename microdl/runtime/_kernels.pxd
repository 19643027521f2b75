# cdef extern declarations of cext/include: the node, the kernel table and the invoke loop.
from libc.stdint cimport int32_t

cdef extern from "mdl_node.h" nogil:
    ctypedef enum mdl_status:
        MDL_OK
        MDL_ERR_BAD_PARAM
        MDL_ERR_UNSUPPORTED

    int MDL_MAX_NODE_INPUTS

    ctypedef mdl_status (*mdl_node_fn)(const mdl_node* node)

    ctypedef struct mdl_node:
        mdl_node_fn run
        const void* params
        const void** in_ "in"
        void* out
        void* scratch

    ctypedef struct mdl_kernel_info:
        const char* name
        mdl_node_fn run
        const char* fields

    const mdl_kernel_info mdl_kernel_table[]

    mdl_status mdl_run_nodes(const mdl_node* nodes, int32_t count, int32_t* failed_index)

    int MDL_MAX_THREADS
    ctypedef struct mdl_pool:
        pass
    size_t mdl_pool_size()
    int32_t mdl_pool_init(mdl_pool* pool, int32_t threads)
    void mdl_pool_deinit(mdl_pool* pool)
    int32_t mdl_pool_threads(const mdl_pool* pool)
    mdl_status mdl_run_nodes_grouped(const mdl_node* nodes, int32_t count,
                                     const int32_t* group, const mdl_node* wholes,
                                     mdl_pool* pool, int32_t* failed_index)

cdef extern from "mdl_build.h" nogil:
    const char* mdl_build_config()
    int32_t mdl_cpu_uses_avx2()
    int32_t mdl_cpu_uses_neon()
    int32_t mdl_cpu_uses_avx512vnni()

cdef extern from "mdl_conv.h" nogil:
    ctypedef struct mdl_conv_s8_fast_params:
        pass
    int32_t mdl_conv_s8_fast_patch_len(const mdl_conv_s8_fast_params* p)
    int32_t mdl_conv_s8_fast_get_buffer_size(const mdl_conv_s8_fast_params* p)
    int MDL_CONV_S8_FAST_MAX_BLOCK
    int MDL_CONV_FAST_ROWS
    int MDL_CONV_FAST_LANES
    int MDL_CONV_FAST_LANES_C
    int MDL_CONV_FAST_LANE_BLOCK
    int MDL_CONV_S8_FAST_IM2COL_PIXEL
    int MDL_CONV_S8_FAST_IM2COL_ROW16
    int MDL_CONV_S8_FAST_IM2COL_ROWS
    int MDL_CONV_S8_FAST_RQ_INT16
    int MDL_CONV_S8_FAST_ROW16_MAX_FH
    int MDL_DEPTHWISE_FAST_MAX_MULTIPLIER
    int MDL_DEPTHWISE_FAST_LANES
    int MDL_DEPTHWISE_FAST_LANES_C
    int MDL_DEPTHWISE_FAST_LANES_AVX2
    int MDL_DEPTHWISE_FAST_LANES_MAX_TAPS
    int MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS

cdef extern from "mdl_elementwise.h" nogil:
    int MDL_ADD_UKERNEL_BEST
    int MDL_ADD_UKERNEL_C

cdef extern from "mdl_fully_connected.h" nogil:
    int MDL_FC_GEMV_BLOCK
    int MDL_FC_GEMV_KC
    int MDL_FC_FAST_CHUNK
    int MDL_FC_GEMV_8C16
    int MDL_FC_GEMV_8C16_C
    int MDL_FC_GEMV_8C16_AVX2
    int MDL_FC_FAST_MAX_DEPTH
    int MDL_FC_REQUANT_FLOAT64
