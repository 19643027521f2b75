/* microdl: the table of kernels the Python side can bind nodes to.
 * One line per kernel: MDL_KERNEL(name, PARAMS_LIST) needs mdl_node_<name> and the
 * X-macro list of its parameter struct. */
#include "mdl_kernels.h"

#define MDL_KERNEL(name, LIST) {#name, mdl_node_##name, MDL_PARAM_NAMES(LIST)},

const mdl_kernel_info mdl_kernel_table[] = {
    MDL_KERNEL(fully_connected_s8, MDL_FULLY_CONNECTED_S8_PARAMS)
    MDL_KERNEL(copy_strided, MDL_COPY_STRIDED_PARAMS)
    MDL_KERNEL(fill_elements, MDL_FILL_ELEMENTS_PARAMS)
    MDL_KERNEL(conv_s8, MDL_CONV_S8_PARAMS)
    MDL_KERNEL(conv_s16, MDL_CONV_S16_PARAMS)
    MDL_KERNEL(depthwise_conv_s8, MDL_DEPTHWISE_CONV_S8_PARAMS)
    MDL_KERNEL(transpose_conv_s8, MDL_TRANSPOSE_CONV_S8_PARAMS)
    MDL_KERNEL(transpose_conv_s16, MDL_TRANSPOSE_CONV_S16_PARAMS)
    MDL_KERNEL(add_s8, MDL_ADD_PARAMS)
    MDL_KERNEL(sub_s8, MDL_ADD_PARAMS)
    MDL_KERNEL(add_s16, MDL_ADD_PARAMS)
    MDL_KERNEL(sub_s16, MDL_ADD_PARAMS)
    MDL_KERNEL(mul_s8, MDL_MUL_PARAMS)
    MDL_KERNEL(mul_s16, MDL_MUL_PARAMS)
    MDL_KERNEL(avg_pool_s8, MDL_POOL_PARAMS)
    MDL_KERNEL(avg_pool_s16, MDL_POOL_PARAMS)
    MDL_KERNEL(max_pool_s8, MDL_POOL_PARAMS)
    MDL_KERNEL(max_pool_s16, MDL_POOL_PARAMS)
    MDL_KERNEL(mean_s8, MDL_MEAN_PARAMS)
    MDL_KERNEL(mean_s16, MDL_MEAN_PARAMS)
    MDL_KERNEL(lut_s8, MDL_LUT_S8_PARAMS)
    MDL_KERNEL(leaky_relu_s16, MDL_LEAKY_RELU_S16_PARAMS)
    MDL_KERNEL(softmax_s8, MDL_SOFTMAX_S8_PARAMS)
    MDL_KERNEL(quantize_f32, MDL_QUANTIZE_F32_PARAMS)
    MDL_KERNEL(dequantize_f32, MDL_DEQUANTIZE_F32_PARAMS)
    MDL_KERNEL(requantize_int, MDL_REQUANTIZE_INT_PARAMS)
    MDL_KERNEL(conv_s8_fast, MDL_CONV_S8_FAST_PARAMS) MDL_KERNEL(depthwise_conv_s8_fast, MDL_DEPTHWISE_CONV_S8_PARAMS)
    MDL_KERNEL(depthwise_conv_s8_inplace, MDL_DEPTHWISE_CONV_S8_INPLACE_PARAMS)
    MDL_KERNEL(conv_s8_fast_inplace, MDL_CONV_S8_FAST_INPLACE_PARAMS)
    MDL_KERNEL(fully_connected_hybrid, MDL_FULLY_CONNECTED_HYBRID_PARAMS)
    MDL_KERNEL(conv_hybrid, MDL_CONV_HYBRID_PARAMS)
    MDL_KERNEL(depthwise_conv_hybrid, MDL_DEPTHWISE_CONV_HYBRID_PARAMS)
    MDL_KERNEL(conv_f32, MDL_CONV_F32_PARAMS)
    MDL_KERNEL(fully_connected_f32, MDL_FULLY_CONNECTED_F32_PARAMS)
    MDL_KERNEL(depthwise_conv_f32, MDL_DEPTHWISE_CONV_F32_PARAMS)
    MDL_KERNEL(avg_pool_f32, MDL_POOL_F32_PARAMS)
    MDL_KERNEL(max_pool_f32, MDL_POOL_F32_PARAMS)
    MDL_KERNEL(binary_f32, MDL_BINARY_F32_PARAMS)
    MDL_KERNEL(unary_f32, MDL_UNARY_F32_PARAMS)
    MDL_KERNEL(softmax_f32, MDL_SOFTMAX_F32_PARAMS)
    MDL_KERNEL(mean_f32, MDL_MEAN_F32_PARAMS)
    MDL_KERNEL(transpose_conv_f32, MDL_TRANSPOSE_CONV_F32_PARAMS)
    MDL_KERNEL(fully_connected_s8_fast, MDL_FULLY_CONNECTED_S8_FAST_PARAMS)
    /* new kernels: add one MDL_KERNEL line above this comment */
    {0, 0, 0},
};
