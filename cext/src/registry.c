/* microdl: the table of kernels the Python side can bind nodes to.
 * One line per kernel: MDL_KERNEL(name, PARAMS_LIST) needs mdl_node_<name> and the
 * X-macro list of its parameter struct. */
#include "mdl_kernels.h"

#define MDL_KERNEL(name, LIST) {#name, mdl_node_##name, MDL_PARAM_NAMES(LIST)},

const mdl_kernel_info mdl_kernel_table[] = {
    MDL_KERNEL(fully_connected_s8, MDL_FULLY_CONNECTED_S8_PARAMS)
    /* new kernels: add one MDL_KERNEL line above this comment */
    {0, 0, 0},
};
