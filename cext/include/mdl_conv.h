/* microdl: convolutions: CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV.
 *
 * int8 kernels (_s8): int8 activations, int8 symmetric weights, int32 bias, as TFLite's
 * reference_integer_ops ConvPerChannel / DepthwiseConvPerChannel / TransposeConv.
 * 16x8 kernels (_s16): int16 activations with zero point 0, int8 symmetric weights,
 * int64 bias with a 64-bit accumulator (acc64 = 1) or int32 bias with a 32-bit
 * accumulator (acc64 = 0), as the int16 overloads of the same TFLite kernels.
 *
 * Layouts: activations NHWC; CONV_2D and TRANSPOSE_CONV filters OHWI
 * [output_c, filter_h, filter_w, filter_c]; DEPTHWISE_CONV_2D filters 1HWO
 * [1, filter_h, filter_w, input_c * depth_multiplier].  Every kernel takes one
 * multiplier/shift pair per output channel (a per-tensor weight scale is broadcast by
 * prepare).  Padding is the number of rows/columns before the first input row/column;
 * taps that fall outside the input are skipped (TFLite's zero padding of the offset
 * input).
 */
#ifndef MDL_CONV_H
#define MDL_CONV_H

#include "mdl_fixedpoint.h"
#include "mdl_node.h"

/* TFLite MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift), used by
 * the 16x8 kernels with int64 bias.  TFLite (tensorflow/lite/kernels/internal/common.cc,
 * identical in its single- and double-rounding builds and in TFLite Micro) first rounds
 * the Q0.31 multiplier to 16 bits (0x7FFF when it would overflow), then does one rounding
 * shift: (x * reduced + 2^(14 - shift)) >> (15 - shift), truncated to int32.
 * shift must be in [-31, 14] (prepare checks it); the multiply wraps modulo 2^64 rather
 * than being undefined when x is outside TFLite's documented |x| < 2^47. */
MDL_INLINE int32_t mdl_requantize64(int64_t x, int32_t multiplier, int32_t shift) {
  const int64_t reduced =
      multiplier < 0x7FFF0000 ? (int64_t)((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int32_t total_shift = 15 - shift;
  const uint64_t round = (uint64_t)1 << (total_shift - 1);
  const int64_t scaled = (int64_t)((uint64_t)x * (uint64_t)reduced + round);
  return (int32_t)(scaled >> total_shift);
}

/* Geometry shared by CONV_2D kernels.  Grouped convolution: input_c = groups * filter_c
 * and output_c = groups * (filters per group); output channel o reads input channels
 * [g * filter_c, (g + 1) * filter_c) with g = o / (output_c / groups). */
#define MDL_CONV_GEOMETRY_(F, A)                                                  \
  F(batches)                                                                      \
  F(input_h)                                                                      \
  F(input_w)                                                                      \
  F(input_c)                                                                      \
  F(filter_h)                                                                     \
  F(filter_w)                                                                     \
  F(filter_c)   /* input channels per group (filter dimension 3) */               \
  F(output_h)                                                                     \
  F(output_w)                                                                     \
  F(output_c)                                                                     \
  F(stride_h)                                                                     \
  F(stride_w)                                                                     \
  F(dilation_h)                                                                   \
  F(dilation_w)                                                                   \
  F(pad_h)      /* padding rows before the first input row */                     \
  F(pad_w)      /* padding columns before the first input column */

/* ---------------------------------------------------------------- CONV_2D int8 */
#define MDL_CONV_S8_PARAMS(F, A)                                                  \
  MDL_CONV_GEOMETRY_(F, A)                                                        \
  F(input_offset)  /* negated input zero point */                                 \
  F(output_offset) /* output zero point */                                        \
  F(act_min)       /* fused activation clamp, in output quantized units */        \
  F(act_max)                                                                      \
  F(rounding)      /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_conv_s8_params, MDL_CONV_S8_PARAMS)

/* output[b, y, x, o] = clamp(requantize(bias[o] + sum over (fy, fx, c) inside the input
 *     of (input[b, y*sh - ph + fy*dh, x*sw - pw + fx*dw, g*filter_c + c] + input_offset)
 *     * filter[o, fy, fx, c], multiplier[o], shift[o]) + output_offset, act_min, act_max)
 * int32 accumulator (wrapping).  bias may be NULL. */
mdl_status mdl_conv_s8(const mdl_conv_s8_params* p, const int32_t* multiplier,
                       const int32_t* shift, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output);

/* Node: in = {input, filter, bias or NULL, multiplier, shift}. */
mdl_status mdl_node_conv_s8(const mdl_node* node);

/* --------------------------------------------------------------- CONV_2D 16x8 */
#define MDL_CONV_S16_PARAMS(F, A)                                                 \
  MDL_CONV_GEOMETRY_(F, A)                                                        \
  F(act_min)   /* fused activation clamp, in output quantized units */            \
  F(act_max)                                                                      \
  F(acc64)     /* 1: int64 bias and accumulator, mdl_requantize64; 0: int32 */    \
  F(rounding)  /* MDL_ROUNDING_*, for the int32 path (acc64 = 0) */
MDL_DECLARE_PARAMS(mdl_conv_s16_params, MDL_CONV_S16_PARAMS)

/* As mdl_conv_s8 with zero input and output offsets; bias is int64_t* (acc64 = 1) or
 * int32_t* (acc64 = 0) or NULL.  input/output int16. */
mdl_status mdl_conv_s16(const mdl_conv_s16_params* p, const int32_t* multiplier,
                        const int32_t* shift, const int16_t* input, const int8_t* filter,
                        const void* bias, int16_t* output);

/* Node: in = {input, filter, bias or NULL, multiplier, shift}. */
mdl_status mdl_node_conv_s16(const mdl_node* node);

/* ------------------------------------------------------ DEPTHWISE_CONV_2D int8 */
#define MDL_DEPTHWISE_CONV_S8_PARAMS(F, A)                                        \
  F(batches)                                                                      \
  F(input_h)                                                                      \
  F(input_w)                                                                      \
  F(input_c)                                                                      \
  F(filter_h)                                                                     \
  F(filter_w)                                                                     \
  F(depth_multiplier) /* output channels per input channel */                     \
  F(output_h)                                                                     \
  F(output_w)                                                                     \
  F(stride_h)                                                                     \
  F(stride_w)                                                                     \
  F(dilation_h)                                                                   \
  F(dilation_w)                                                                   \
  F(pad_h)         /* padding rows before the first input row */                  \
  F(pad_w)         /* padding columns before the first input column */            \
  F(input_offset)  /* negated input zero point */                                 \
  F(output_offset) /* output zero point */                                        \
  F(act_min)       /* fused activation clamp, in output quantized units */        \
  F(act_max)                                                                      \
  F(rounding)      /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_depthwise_conv_s8_params, MDL_DEPTHWISE_CONV_S8_PARAMS)

/* Output channel o = c * depth_multiplier + m reads input channel c only:
 * output[b, y, x, o] = clamp(requantize(bias[o] + sum over (fy, fx) inside the input of
 *     (input[b, y*sh - ph + fy*dh, x*sw - pw + fx*dw, c] + input_offset)
 *     * filter[0, fy, fx, o], multiplier[o], shift[o]) + output_offset, act_min, act_max)
 * filter: 1HWO [1, filter_h, filter_w, input_c * depth_multiplier]; bias may be NULL. */
mdl_status mdl_depthwise_conv_s8(const mdl_depthwise_conv_s8_params* p,
                                 const int32_t* multiplier, const int32_t* shift,
                                 const int8_t* input, const int8_t* filter,
                                 const int32_t* bias, int8_t* output);

/* Node: in = {input, filter, bias or NULL, multiplier, shift}. */
mdl_status mdl_node_depthwise_conv_s8(const mdl_node* node);

/* ------------------------------------------- fast int8 CONV_2D / DEPTHWISE_CONV_2D
 * Same results as mdl_conv_s8 / mdl_depthwise_conv_s8, bit for bit; prepare chooses
 * them unless MICRODL_REFERENCE_KERNELS=1 (microdl/runtime/ops/conv.py).  These are
 * operators: they validate, pick the microkernels (mdl_ukernels.h, cext/src/ukernels/)
 * that prepare chose through the variant fields, and loop over the tiles.
 *
 * mdl_conv_s8_fast (groups == 1, filter_c == input_c): im2col + int8 GEMM.
 * The input offset is folded into an effective bias,
 *     bias_eff[o] = bias[o] + input_offset * sum(filter[o])   (mod 2^32, by prepare),
 * which is exact because padded taps of a patch hold the input zero point
 * (-input_offset), whose offset product (x + input_offset) * w is 0.  The patch of
 * every output pixel (its filter_h * filter_w * input_c = K input values in OHWI row
 * order [fy][fx][c]) is widened to int16, block_pixels patches at a time, zero-padded
 * to patch_len entries (mdl_conv_s8_fast_patch_len), into arena scratch of
 * mdl_conv_s8_fast_get_buffer_size bytes; then each block goes through the GEMM and
 * the requantization.  The dot products never overflow: prepare only chooses this
 * kernel when K < 2^17 (|x * w| <= 2^14).
 *
 * Variant fields (prepare; the operator validates them and otherwise only checks the
 * CPU for AVX2, falling back to the portable twin without it):
 *  - lanes, the GEMM form and its filter layout:
 *    MDL_CONV_FAST_ROWS: filter rows of patch_len int8 (zero past K; patch_len = K
 *      rounded up to MDL_CONV_S8_FAST_K_ALIGN), microkernel s8-gemm-dot4-c;
 *    MDL_CONV_FAST_LANES: output-channel lanes, microkernel s8-gemm-lanes16-avx2 (or
 *      -c): the filter is int16 in blocks of 16 output channels,
 *      [ceil(output_c / 16)][K2 / 2][16][2] with K2 = K rounded up to even, element
 *      (k, o) at block o / 16, [k / 2][o % 16][k % 2], zero where k >= K or o >=
 *      output_c; bias_eff has ceil(output_c / 16) * 16 entries (zero-padded);
 *      patch_len = K exactly up to MDL_CONV_FAST_LANES_EXACT_K (no padding, so a 1x1
 *      convolution's patches are the input pixels themselves), else as the rows form;
 *    MDL_CONV_FAST_LANES_C: the same with the portable s8-gemm-lanes16-c only (tests);
 *  - im2col: MDL_CONV_S8_FAST_IM2COL_PIXEL (s8-im2col-pixel-c, any geometry) or
 *    MDL_CONV_S8_FAST_IM2COL_ROW16 (s8-im2col-row16-avx2, one 16-byte load per filter
 *    row): only when filter_h * filter_w > 1, dilation_w 1, filter_w * input_c <= 16,
 *    filter_h <= MDL_CONV_S8_FAST_ROW16_MAX_FH and patch_len == K; or
 *    MDL_CONV_S8_FAST_IM2COL_ROWS (no patches: per output row the filter_h input rows
 *    it reads are widened once into scratch, with the padding columns and rows holding
 *    the input zero point, and the indirect GEMM s8-igemm-lanes16-rq-avx2 reads each
 *    patch as filter_h runs of filter_w * input_c entries of those rows): only with
 *    lanes MDL_CONV_FAST_LANES, fused_rq, dilation_w 1 and filter_w * input_c even
 *    (a run is whole int16 pairs); where the fused AVX2 GEMM does not run (no AVX2,
 *    ARM, AVX512-VNNI) the operator makes pixel patches instead, in the same scratch
 *    (mdl_conv_s8_fast_get_buffer_size covers both);
 *  - fused_rq: 0, the GEMM's int32 accumulators then s32-requant-rows-c; 1, the
 *    lanes16 GEMM with the requantization fused (s8-gemm-lanes16-rq-avx2, int8 straight
 *    from the registers): only with lanes MDL_CONV_FAST_LANES and double rounding.  On
 *    x86-64 CPUs with AVX512F/BW/VL/VNNI (run-time check) and K rounded up to 4 at most
 *    2048, fused_rq 1 runs the int8 form instead: the filter re-packed per call on the
 *    stack to int8 lanes16c4 with a uint8-input bias, uint8 patches (x ^ 0x80) on the
 *    stack (the arena scratch, sized as for int16 patches, is left unused, so it is the
 *    same on every CPU) and vpdpbusd (s8-gemm-lanes16c4-rq-avx512vnni);
 *    MDL_CONV_S8_FAST_RQ_INT16 (2): the int16 fused GEMM only (tests);
 *  - lean: 1 when no channel has a left shift or the multiplier INT32_MIN (the fused
 *    AVX2 requantization then skips those steps). */
#define MDL_CONV_S8_FAST_K_ALIGN 16
#define MDL_CONV_S8_FAST_MAX_BLOCK 16 /* largest block_pixels */
#define MDL_CONV_S8_FAST_SLACK 16 /* int16 entries past the patches, written as scratch */
#define MDL_CONV_S8_FAST_PARAMS(F, A)                                             \
  MDL_CONV_S8_PARAMS(F, A)                                                        \
  F(block_pixels)  /* patches per block in scratch, 1..MDL_CONV_S8_FAST_MAX_BLOCK */ \
  F(lanes)         /* GEMM form: MDL_CONV_FAST_ROWS or MDL_CONV_FAST_LANES[_C] */ \
  F(im2col)        /* MDL_CONV_S8_FAST_IM2COL_PIXEL, _ROW16 or _ROWS */            \
  F(fused_rq)      /* 1: GEMM and requantization fused (lanes form, AVX2) */      \
  F(lean)          /* 1: no channel has a left shift or the multiplier INT32_MIN */
MDL_DECLARE_PARAMS(mdl_conv_s8_fast_params, MDL_CONV_S8_FAST_PARAMS)

#define MDL_CONV_FAST_ROWS 0
#define MDL_CONV_S8_FAST_RQ_INT16 2 /* fused_rq: the int16 lanes16-rq GEMM only (tests) */
#define MDL_CONV_FAST_LANES 1
#define MDL_CONV_FAST_LANES_C 2
#define MDL_CONV_FAST_LANE_BLOCK 16 /* output channels per filter block, lanes form */
#define MDL_CONV_FAST_LANES_EXACT_K 64 /* lanes form: unpadded patches up to this K */
#define MDL_CONV_S8_FAST_IM2COL_PIXEL 0
#define MDL_CONV_S8_FAST_IM2COL_ROW16 1
#define MDL_CONV_S8_FAST_IM2COL_ROWS 2
#define MDL_CONV_S8_FAST_ROW16_MAX_FH 64 /* filter rows of the row16 im2col */

/* Patch length (int16 entries per patch) of a fast CONV_2D: K rounded up to
 * MDL_CONV_S8_FAST_K_ALIGN, except in the lanes forms for K <=
 * MDL_CONV_FAST_LANES_EXACT_K: K.  Prepare pads rows-form filters to it. */
int32_t mdl_conv_s8_fast_patch_len(const mdl_conv_s8_fast_params* p);

/* Bytes of arena scratch mdl_conv_s8_fast needs for p (block_pixels patches of
 * patch_len int16 entries plus MDL_CONV_S8_FAST_SLACK; with im2col
 * MDL_CONV_S8_FAST_IM2COL_ROWS at least filter_h widened input rows of
 * ((output_w - 1) * stride_w + filter_w) * input_c int16 entries plus the slack), or
 * -1 when lanes or block_pixels is out of range.  Prepare sizes the node's scratch
 * with it. */
int32_t mdl_conv_s8_fast_get_buffer_size(const mdl_conv_s8_fast_params* p);

/* filter: in the layout of `lanes`; bias_eff: int32 (not NULL); scratch:
 * mdl_conv_s8_fast_get_buffer_size(p) bytes of arena, 2-byte aligned.
 * MDL_ERR_BAD_PARAM if groups != 1, a variant field is out of range or does not fit
 * the geometry, block_pixels is out of range or scratch is missing. */
mdl_status mdl_conv_s8_fast(const mdl_conv_s8_fast_params* p, const int32_t* multiplier,
                            const int32_t* shift, const int8_t* input,
                            const int8_t* filter, const int32_t* bias_eff, int8_t* output,
                            int16_t* scratch);

/* Node: in = {input, filter (in the layout of `lanes`), bias_eff, multiplier, shift};
 * scratch: int16 patches (see mdl_conv_s8_fast). */
mdl_status mdl_node_conv_s8_fast(const mdl_node* node);

/* mdl_depthwise_conv_s8_fast: same parameters and inputs as mdl_depthwise_conv_s8, any
 * depth multiplier up to MDL_DEPTHWISE_FAST_MAX_MULTIPLIER; the same (x + input_offset)
 * * w products over the same in-bounds taps, summed in int32 lanes (one output channel
 * per lane), then requantized by s32-requant-rows-c.  Depth multiplier 1 with
 * stride_w 1 runs row by row: one multiply-add per tap over all the (pixel, channel)
 * pairs of an output row, whose inputs are contiguous, with the tap's weights repeated
 * over a period; otherwise pixel by pixel.  No scratch.  (prepare runs a depthwise
 * convolution of one input channel as a conv_s8_fast instead.) */
#define MDL_DEPTHWISE_FAST_MAX_MULTIPLIER 256
mdl_status mdl_depthwise_conv_s8_fast(const mdl_depthwise_conv_s8_params* p,
                                      const int32_t* multiplier, const int32_t* shift,
                                      const int8_t* input, const int8_t* filter,
                                      const int32_t* bias, int8_t* output);

/* mdl_depthwise_conv_s8_fast_lanes: the channel-lanes form for depth multiplier 1, any
 * filter size up to MDL_DEPTHWISE_FAST_LANES_MAX_TAPS taps, strides, dilations and
 * padding, input_c up to MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS.  Same results as
 * mdl_depthwise_conv_s8, bit for bit.  The input offset is folded into an effective
 * bias (by prepare),
 *     bias_eff[c] = bias[c] + input_offset * sum over all taps of filter[c]  (mod 2^32),
 * exact because taps outside the input are read as the input zero point
 * (-input_offset), whose x * w cancels its share of the fold.  The weights are packed
 * (by prepare) as int16 in blocks of 16 channels, taps in pairs:
 * [ceil(input_c / 16)][pairs][16][2] with pairs = ceil(taps / 2), element (tap t,
 * channel c) at [c / 16][t / 2][c % 16][t % 2], t = fy * filter_w + fx, zero where
 * t >= taps or c >= input_c; bias_eff has ceil(input_c / 16) * 16 entries (zero-padded).
 * Per output pixel and block of 16 channels the int32 sums stay in registers over all
 * the taps: two taps' inputs interleaved per channel, widened to int16 and multiplied
 * by a pair of weights into 8 int32 lanes (x86 pmaddwd), then requantized from there
 * (mdl_requantize_clamp_vec in AVX2 lanes; single rounding runs the C loop).  The tap
 * pointers of a batch of windows (runs of consecutive windows inside the input, single
 * border windows) are computed once for all the channel blocks.  form:
 * MDL_DEPTHWISE_FAST_LANES
 * (AVX2 intrinsics when the CPU has them, runtime check; blocks of 16 channels in
 * s8-dwconv-lanes16-rq-avx512vnni where the CPU has AVX512-VNNI; else portable C),
 * MDL_DEPTHWISE_FAST_LANES_AVX2 (the AVX2 path without AVX512-VNNI, tests) or
 * MDL_DEPTHWISE_FAST_LANES_C (the portable C loop only, for tests).  lean (by prepare):
 * 1 when no channel has a left shift (shift > 0) or the multiplier INT32_MIN, which
 * lets the AVX2 requantization skip those steps.  No scratch; about
 * 6 KB of stack.  MDL_ERR_BAD_PARAM outside these limits. */
#define MDL_DEPTHWISE_FAST_LANES 1
#define MDL_DEPTHWISE_FAST_LANES_C 2
#define MDL_DEPTHWISE_FAST_LANES_AVX2 3 /* AVX2 only, never AVX512-VNNI (tests) */
#define MDL_DEPTHWISE_FAST_LANES_MAX_TAPS 64
#define MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS 1024
mdl_status mdl_depthwise_conv_s8_fast_lanes(const mdl_depthwise_conv_s8_params* p,
                                            const int32_t* multiplier,
                                            const int32_t* shift, const int8_t* input,
                                            const int16_t* packed,
                                            const int32_t* bias_eff, int8_t* output,
                                            int32_t form, int32_t lean);

/* Node: in = {input, filter, bias or NULL, multiplier, shift, packed or NULL, bias_eff,
 * config (int32[2]: form, lean)}: the lanes form when packed is not NULL, else
 * mdl_depthwise_conv_s8_fast. */
mdl_status mdl_node_depthwise_conv_s8_fast(const mdl_node* node);

/* ------------------------------------------------------- TRANSPOSE_CONV common */
#define MDL_TRANSPOSE_CONV_GEOMETRY_(F, A)                                        \
  F(batches)                                                                      \
  F(input_h)                                                                      \
  F(input_w)                                                                      \
  F(input_c)                                                                      \
  F(filter_h)                                                                     \
  F(filter_w)                                                                     \
  F(output_h)                                                                     \
  F(output_w)                                                                     \
  F(output_c)                                                                     \
  F(stride_h)                                                                     \
  F(stride_w)                                                                     \
  F(pad_h)      /* output rows cropped before the first output row */             \
  F(pad_w)      /* output columns cropped before the first output column */

/* --------------------------------------------------------- TRANSPOSE_CONV int8 */
#define MDL_TRANSPOSE_CONV_S8_PARAMS(F, A)                                        \
  MDL_TRANSPOSE_CONV_GEOMETRY_(F, A)                                              \
  F(input_offset)  /* negated input zero point */                                 \
  F(output_offset) /* output zero point */                                        \
  F(act_min)       /* fused activation clamp, in output quantized units */        \
  F(act_max)                                                                      \
  F(rounding)      /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_transpose_conv_s8_params, MDL_TRANSPOSE_CONV_S8_PARAMS)

/* Scatter form (TFLite reference_integer_ops::TransposeConv): every input element
 * (b, iy, ix, c) adds (input + input_offset) * filter[o, fy, fx, c] to
 * acc[b, iy*sh - ph + fy, ix*sw - pw + fx, o] when that position is inside the output;
 * then output = clamp(requantize(acc + bias[o], multiplier[o], shift[o]) + output_offset,
 * act_min, act_max).  acc: int32 scratch of batches*output_h*output_w*output_c entries.
 * filter: OHWI [output_c, filter_h, filter_w, input_c]; bias may be NULL.
 * output_shape, when not NULL, is the op's int32[4] output-shape input, checked against
 * (batches, output_h, output_w, output_c): MDL_ERR_BAD_PARAM if it differs. */
mdl_status mdl_transpose_conv_s8(const mdl_transpose_conv_s8_params* p,
                                 const int32_t* multiplier, const int32_t* shift,
                                 const int8_t* input, const int8_t* filter,
                                 const int32_t* bias, const int32_t* output_shape,
                                 int8_t* output, int32_t* scratch);

/* Node: in = {input, filter, bias or NULL, multiplier, shift, output_shape or NULL};
 * scratch: int32 accumulators (4 * output elements bytes). */
mdl_status mdl_node_transpose_conv_s8(const mdl_node* node);

/* -------------------------------------------------------- TRANSPOSE_CONV 16x8 */
#define MDL_TRANSPOSE_CONV_S16_PARAMS(F, A)                                       \
  MDL_TRANSPOSE_CONV_GEOMETRY_(F, A)                                              \
  F(act_min)   /* fused activation clamp, in output quantized units */            \
  F(act_max)                                                                      \
  F(acc64)     /* 1: int64 bias and scratch, mdl_requantize64; 0: int32 */        \
  F(rounding)  /* MDL_ROUNDING_*, for the int32 path (acc64 = 0) */
MDL_DECLARE_PARAMS(mdl_transpose_conv_s16_params, MDL_TRANSPOSE_CONV_S16_PARAMS)

/* As mdl_transpose_conv_s8 with zero input and output offsets; int16 input/output;
 * bias int64_t* (acc64 = 1) or int32_t* (acc64 = 0) or NULL; scratch holds int64_t
 * (acc64 = 1) or int32_t (acc64 = 0) accumulators. */
mdl_status mdl_transpose_conv_s16(const mdl_transpose_conv_s16_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const int16_t* input, const int8_t* filter,
                                  const void* bias, const int32_t* output_shape,
                                  int16_t* output, void* scratch);

/* Node: in = {input, filter, bias or NULL, multiplier, shift, output_shape or NULL};
 * scratch: accumulators (8 or 4 bytes per output element, by acc64). */
mdl_status mdl_node_transpose_conv_s16(const mdl_node* node);

#endif /* MDL_CONV_H */
