/* CONV_2D int8, fast form (groups == 1): the operator.  Validates the parameters, runs
 * the microkernels prepare chose (variant fields of mdl_conv_s8_fast_params, see
 * mdl_conv.h; the AVX2 ones only when the CPU has AVX2, the NEON ones on aarch64, else
 * their portable twins; lanes MDL_CONV_FAST_LANES_C always takes the twins) and
 * loops over the tiles: blocks of block_pixels output pixels, im2col into the arena
 * scratch, the GEMM over passes of at most OC_CHUNK output channels, the
 * requantization.  Same results as mdl_conv_s8 (conv_s8.c), bit for bit; the
 * microkernels are in cext/src/ukernels/ (mdl_ukernels.h). */
#include "mdl_ukernels.h"

#define OC_CHUNK 128  /* output channels per GEMM pass when there are more */
#define ACC_SIZE 2048 /* int32 accumulators requantized together */

int32_t mdl_conv_s8_fast_patch_len(const mdl_conv_s8_fast_params* p) {
  const int32_t k = p->filter_h * p->filter_w * p->input_c;
  if (p->lanes != MDL_CONV_FAST_ROWS && k <= MDL_CONV_FAST_LANES_EXACT_K) return k;
  return (k + MDL_CONV_S8_FAST_K_ALIGN - 1) / MDL_CONV_S8_FAST_K_ALIGN *
         MDL_CONV_S8_FAST_K_ALIGN;
}

int32_t mdl_conv_s8_fast_get_buffer_size(const mdl_conv_s8_fast_params* p) {
  if (p->lanes < MDL_CONV_FAST_ROWS || p->lanes > MDL_CONV_FAST_LANES_C ||
      p->block_pixels < 1 || p->block_pixels > MDL_CONV_S8_FAST_MAX_BLOCK) {
    return -1;
  }
  return 2 * (p->block_pixels * mdl_conv_s8_fast_patch_len(p) + MDL_CONV_S8_FAST_SLACK);
}

/* 1 when the variant fields are in range and fit the geometry (see mdl_conv.h). */
static int variant_ok(const mdl_conv_s8_fast_params* p, int32_t kp) {
  if (p->lanes < MDL_CONV_FAST_ROWS || p->lanes > MDL_CONV_FAST_LANES_C) return 0;
  if (p->fused_rq != 0 &&
      (p->fused_rq != 1 || p->lanes != MDL_CONV_FAST_LANES ||
       p->rounding != MDL_ROUNDING_DOUBLE)) {
    return 0;
  }
  if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROW16) {
    return p->filter_h * p->filter_w > 1 && p->dilation_w == 1 &&
           p->filter_w * p->input_c <= 16 &&
           p->filter_h <= MDL_CONV_S8_FAST_ROW16_MAX_FH &&
           kp == p->filter_h * p->filter_w * p->input_c;
  }
  return p->im2col == MDL_CONV_S8_FAST_IM2COL_PIXEL;
}

typedef void (*im2col_fn)(const mdl_conv_s8_fast_params* p, const int8_t* input,
                          int32_t np, int32_t kp, mdl_pixel_pos* q, int16_t* patches);
typedef void (*gemm_lanes_fn)(int32_t np, int32_t n, int32_t k2, int32_t kp,
                              const int16_t* patches, const int16_t* w,
                              const int32_t* bias, int32_t* acc);

mdl_status mdl_conv_s8_fast(const mdl_conv_s8_fast_params* p, const int32_t* multiplier,
                            const int32_t* shift, const int8_t* input,
                            const int8_t* filter, const int32_t* bias_eff, int8_t* output,
                            int16_t* scratch) {
  const int32_t bp = p->block_pixels;
  const int32_t kp = mdl_conv_s8_fast_patch_len(p);
  const int32_t k2 = (p->filter_h * p->filter_w * p->input_c + 1) / 2 * 2;
  if (p->filter_c != p->input_c || bp < 1 || bp > MDL_CONV_S8_FAST_MAX_BLOCK ||
      !bias_eff || !scratch || !variant_ok(p, kp)) {
    return MDL_ERR_BAD_PARAM;
  }
  const int32_t oc = p->output_c;
  const int16_t* w16 = (const int16_t*)(const void*)filter; /* the lanes forms */
  im2col_fn im2col = mdl_s8_im2col_ukernel_pixel__c;
  gemm_lanes_fn gemm_lanes = mdl_s8_gemm_ukernel_lanes16__c;
  mdl_pixel_pos q = {0, 0, 0};
  int32_t remaining = p->batches * p->output_h * p->output_w;
  int8_t* out = output;
#ifdef MDL_HAVE_AVX2_UKERNELS
  if (__builtin_cpu_supports("avx2")) {
    if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROW16) {
      im2col = mdl_s8_im2col_ukernel_row16__avx2;
    }
    if (p->lanes == MDL_CONV_FAST_LANES) gemm_lanes = mdl_s8_gemm_ukernel_lanes16__avx2;
    if (p->fused_rq) {
      const mdl_rq_params rq = {multiplier, shift, p->output_offset,
                                p->act_min, p->act_max, p->lean};
      while (remaining > 0) {
        const int32_t np = remaining < bp ? remaining : bp;
        im2col(p, input, np, kp, &q, scratch);
        mdl_s8_gemm_ukernel_lanes16_rq__avx2(np, oc, k2, kp, scratch, w16, bias_eff, &rq,
                                             out, oc);
        out += (size_t)np * oc;
        remaining -= np;
      }
      return MDL_OK;
    }
  }
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
  if (p->lanes == MDL_CONV_FAST_LANES) {
    if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROW16) {
      im2col = mdl_s8_im2col_ukernel_row16__neon;
    }
    gemm_lanes = mdl_s8_gemm_ukernel_lanes16__neon;
    if (p->fused_rq) {
      const mdl_rq_params rq = {multiplier, shift, p->output_offset,
                                p->act_min, p->act_max, p->lean};
      while (remaining > 0) {
        const int32_t np = remaining < bp ? remaining : bp;
        im2col(p, input, np, kp, &q, scratch);
        mdl_s8_gemm_ukernel_lanes16_rq__neon(np, oc, k2, kp, scratch, w16, bias_eff, &rq,
                                             out, oc);
        out += (size_t)np * oc;
        remaining -= np;
      }
      return MDL_OK;
    }
  }
#endif
  int32_t acc[ACC_SIZE];
  if (oc <= OC_CHUNK) {
    /* Groups of whole blocks of pixels, requantized together. */
    int32_t group = ACC_SIZE / oc / bp * bp;
    if (group < bp) group = bp;
    while (remaining > 0) {
      const int32_t g = remaining < group ? remaining : group;
      for (int32_t i = 0; i < g; i += bp) {
        const int32_t np = g - i < bp ? g - i : bp;
        int32_t* a = acc + (size_t)i * oc;
        im2col(p, input, np, kp, &q, scratch);
        if (p->lanes == MDL_CONV_FAST_ROWS) {
          mdl_s8_gemm_ukernel_dot4__c(np, oc, kp, scratch, filter, bias_eff, a);
        } else {
          gemm_lanes(np, oc, k2, kp, scratch, w16, bias_eff, a);
        }
      }
      mdl_s32_requant_ukernel_rows__c(acc, g, oc, multiplier, shift, p->output_offset,
                                      p->act_min, p->act_max, p->rounding, out, oc);
      out += (size_t)g * oc;
      remaining -= g;
    }
    return MDL_OK;
  }
  while (remaining > 0) {
    const int32_t np = remaining < bp ? remaining : bp;
    im2col(p, input, np, kp, &q, scratch);
    for (int32_t o0 = 0; o0 < oc; o0 += OC_CHUNK) {
      const int32_t n = oc - o0 < OC_CHUNK ? oc - o0 : OC_CHUNK;
      if (p->lanes == MDL_CONV_FAST_ROWS) {
        mdl_s8_gemm_ukernel_dot4__c(np, n, kp, scratch, filter + (size_t)o0 * kp,
                                    bias_eff + o0, acc);
      } else {
        gemm_lanes(np, n, k2, kp, scratch, w16 + (size_t)o0 * k2, bias_eff + o0, acc);
      }
      mdl_s32_requant_ukernel_rows__c(acc, np, n, multiplier + o0, shift + o0,
                                      p->output_offset, p->act_min, p->act_max,
                                      p->rounding, out + o0, oc);
    }
    out += (size_t)np * oc;
    remaining -= np;
  }
  return MDL_OK;
}

mdl_status mdl_node_conv_s8_fast(const mdl_node* n) {
  return mdl_conv_s8_fast((const mdl_conv_s8_fast_params*)n->params,
                          (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                          (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                          (const int32_t*)n->in[2], (int8_t*)n->out,
                          (int16_t*)n->scratch);
}
