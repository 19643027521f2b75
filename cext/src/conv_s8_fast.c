/* CONV_2D int8, fast form (groups == 1): the operator.  Validates the parameters, runs
 * the microkernels prepare chose (variant fields of mdl_conv_s8_fast_params, see
 * mdl_conv.h; the AVX2 ones only when the CPU has AVX2, the NEON ones when
 * mdl_cpu_has_neon() (aarch64 always, 32-bit ARM by AT_HWCAP), else their portable
 * twins; lanes MDL_CONV_FAST_LANES_C always takes the twins) and loops over the tiles:
 * blocks of block_pixels output pixels, im2col into the arena scratch, the GEMM over
 * passes of at most OC_CHUNK output channels, the requantization.  Same results as
 * mdl_conv_s8 (conv_s8.c), bit for bit; the microkernels are in cext/src/ukernels/
 * (mdl_ukernels.h). */
#include "mdl_ukernels.h"
#include "mdl_ukernels_neon.h"

#define OC_CHUNK 128  /* output channels per GEMM pass when there are more */
#define ACC_SIZE 2048 /* int32 accumulators requantized together */

int32_t mdl_conv_s8_fast_patch_len(const mdl_conv_s8_fast_params* p) {
  const int32_t k = p->filter_h * p->filter_w * p->input_c;
  if (p->lanes != MDL_CONV_FAST_ROWS && k <= MDL_CONV_FAST_LANES_EXACT_K) return k;
  return (k + MDL_CONV_S8_FAST_K_ALIGN - 1) / MDL_CONV_S8_FAST_K_ALIGN *
         MDL_CONV_S8_FAST_K_ALIGN;
}

/* Bytes of the int16 patch block. */
static int32_t patch_bytes(const mdl_conv_s8_fast_params* p) {
  return 2 * (p->block_pixels * mdl_conv_s8_fast_patch_len(p) + MDL_CONV_S8_FAST_SLACK);
}

#ifdef MDL_HAVE_NEON_UKERNELS
#define INT8_MAX_K 1024 /* the int8 forms: largest K (one packed block on the stack) */
#define INT8_STACK (INT8_MAX_K * MDL_CONV_FAST_LANE_BLOCK)

/* The int8 forms on ARM (NEON): the lanes form with the requantization fused, K <=
 * INT8_MAX_K and the int8 patch block (block_pixels x kk + 16 bytes, kk = K rounded up
 * to 8) within the int16 one, so that the scratch stays mdl_conv_s8_fast_get_buffer_size's
 * (the int16 patches are not made then).  With the dot product
 * s8-gemm-lanes16c4-rq-neondot, else s8-gemm-lanes16c8-rq-neon; each block of 16 output
 * channels is packed once per call on the stack, then runs over every pixel. */
static int int8_ok(const mdl_conv_s8_fast_params* p) {
  const int32_t k = p->filter_h * p->filter_w * p->input_c;
  const int32_t kk = (k + 7) / 8 * 8;
  return p->lanes == MDL_CONV_FAST_LANES && p->fused_rq == 1 && k <= INT8_MAX_K &&
         p->block_pixels * kk + 16 <= patch_bytes(p);
}
#endif

/* Columns of one widened input row of the IM2COL_ROWS form: every column the windows of
 * an output row touch, padding included. */
static int32_t rows_width(const mdl_conv_s8_fast_params* p) {
  return (p->output_w - 1) * p->stride_w + p->filter_w;
}

/* Bytes of the IM2COL_ROWS form's filter_h widened input rows (int16) plus the slack. */
static int32_t rows_bytes(const mdl_conv_s8_fast_params* p) {
  const int64_t entries = (int64_t)p->filter_h * rows_width(p) * p->input_c;
  if (entries < 0 || entries > (INT32_MAX / 2 - MDL_CONV_S8_FAST_SLACK)) return -1;
  return 2 * ((int32_t)entries + MDL_CONV_S8_FAST_SLACK);
}

int32_t mdl_conv_s8_fast_get_buffer_size(const mdl_conv_s8_fast_params* p) {
  if (p->lanes < MDL_CONV_FAST_ROWS || p->lanes > MDL_CONV_FAST_LANES_C ||
      p->block_pixels < 1 || p->block_pixels > MDL_CONV_S8_FAST_MAX_BLOCK) {
    return -1;
  }
  if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROWS) {
    const int32_t r = rows_bytes(p);
    if (r < 0) return -1;
    return r > patch_bytes(p) ? r : patch_bytes(p);
  }
  return patch_bytes(p);
}

/* 1 when the variant fields are in range and fit the geometry (see mdl_conv.h). */
static int variant_ok(const mdl_conv_s8_fast_params* p, int32_t kp) {
  if (p->lanes < MDL_CONV_FAST_ROWS || p->lanes > MDL_CONV_FAST_LANES_C) return 0;
  if (p->fused_rq != 0 &&
      ((p->fused_rq != 1 && p->fused_rq != MDL_CONV_S8_FAST_RQ_INT16) ||
       p->lanes != MDL_CONV_FAST_LANES ||
       p->rounding != MDL_ROUNDING_DOUBLE)) {
    return 0;
  }
  if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROW16) {
    return p->filter_h * p->filter_w > 1 && p->dilation_w == 1 &&
           p->filter_w * p->input_c <= 16 &&
           p->filter_h <= MDL_CONV_S8_FAST_ROW16_MAX_FH &&
           kp == p->filter_h * p->filter_w * p->input_c;
  }
  if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROWS) {
    return p->lanes == MDL_CONV_FAST_LANES && p->fused_rq != 0 && p->dilation_w == 1 &&
           p->filter_h <= MDL_CONV_S8_FAST_ROW16_MAX_FH &&
           (p->filter_w * p->input_c) % 2 == 0 && p->output_w >= 1 && rows_bytes(p) > 0;
  }
  return p->im2col == MDL_CONV_S8_FAST_IM2COL_PIXEL;
}

#ifdef MDL_HAVE_AVX2_UKERNELS
#define VNNI_MAX_K4 2048      /* the AVX512-VNNI form: largest K rounded up to 4 */
#define VNNI_W_STACK 40960    /* bytes of packed int8 filter on the stack */
#define VNNI_X_STACK 8192     /* bytes of uint8 patches on the stack */
#define VNNI_MAX_PIXELS 64    /* patches per GEMM call */
#define VNNI_MAX_GROUP 256    /* output channels packed together */

/* The AVX512-VNNI form on x86-64 (fused_rq 1, the CPU checked by the caller): per group
 * of output channels whose int8 lanes16c4 filter fits VNNI_W_STACK bytes, the filter
 * packed from the int16 lanes16 one with its uint8-input bias
 * (s8-pack-lanes16c4u-avx512vnni), then every pixel, up to VNNI_MAX_PIXELS at a time:
 * uint8 patches on the stack (s8-im2col-pixel8u-avx2) and the fused GEMM
 * (s8-gemm-lanes16c4-rq-avx512vnni).  The arena scratch (sized for the int16 patches,
 * the same on every CPU) is not used. */
static mdl_status conv_vnni(const mdl_conv_s8_fast_params* p, const int32_t* multiplier,
                            const int32_t* shift, const int8_t* input, const int16_t* w16,
                            const int32_t* bias_eff, int8_t* output) {
  const int32_t K = p->filter_h * p->filter_w * p->input_c;
  const int32_t k2 = (K + 1) / 2 * 2, k4 = (K + 3) / 4 * 4;
  const int32_t oc = p->output_c;
  int32_t group = VNNI_W_STACK / (k4 * MDL_CONV_FAST_LANE_BLOCK) * MDL_CONV_FAST_LANE_BLOCK;
  if (group > VNNI_MAX_GROUP) group = VNNI_MAX_GROUP;
  int32_t block = VNNI_X_STACK / k4;
  if (block > VNNI_MAX_PIXELS) block = VNNI_MAX_PIXELS;
  int8_t w8[VNNI_W_STACK] __attribute__((aligned(64)));
  uint8_t x8[VNNI_X_STACK + 64] __attribute__((aligned(64)));
  int32_t ubias[VNNI_MAX_GROUP] __attribute__((aligned(64)));
  const int32_t total = p->batches * p->output_h * p->output_w;
  for (int32_t ob = 0; ob < oc; ob += group) {
    const int32_t n = oc - ob < group ? oc - ob : group;
    mdl_s8_pack_ukernel_lanes16c4u__avx512vnni(n, k2, w16 + (size_t)ob * k2, bias_eff + ob,
                                               w8, ubias);
    const mdl_rq_params rq = {multiplier + ob, shift + ob, p->output_offset,
                              p->act_min, p->act_max, p->lean};
    mdl_pixel_pos q = {0, 0, 0};
    for (int32_t done = 0; done < total;) {
      const int32_t np = total - done < block ? total - done : block;
      mdl_s8_im2col_ukernel_pixel8u__avx2(p, input, np, k4, &q, x8);
      mdl_s8_gemm_ukernel_lanes16c4_rq__avx512vnni(np, n, k4, x8, k4, w8, ubias, &rq,
                                                   output + (size_t)done * oc + ob, oc);
      done += np;
    }
  }
  return MDL_OK;
}
#endif

#ifdef MDL_HAVE_AVX2_UKERNELS
/* The IM2COL_ROWS form (mdl_conv.h), AVX2: per output row its filter_h input rows are
 * widened into scratch once (rows_width(p) columns each, the padding columns and the
 * rows outside the input holding the input zero point), then blocks of block_pixels
 * output pixels go through s8-igemm-lanes16-rq-avx2, each patch read as filter_h runs
 * of filter_w * input_c entries of those rows (consecutive pixels stride_w * input_c
 * entries apart). */
static void conv_rows_avx2(const mdl_conv_s8_fast_params* p, const int8_t* input,
                           const int16_t* w16, const int32_t* bias_eff,
                           const mdl_rq_params* rq, int8_t* output, int16_t* scratch) {
  const int32_t c = p->input_c, fh = p->filter_h, wp = rows_width(p);
  const int32_t run = p->filter_w * c, kp = p->stride_w * c, bp = p->block_pixels;
  const int32_t row_len = wp * c;
  const int16_t pad = (int16_t)(-p->input_offset);
  const size_t image_size = (size_t)p->input_h * p->input_w * c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  /* input columns [0, in_cols) land at widened columns [pad_w, pad_w + in_cols) */
  const int32_t left = p->pad_w < wp ? p->pad_w : wp;
  int32_t in_cols = wp - left < p->input_w ? wp - left : p->input_w;
  if (in_cols < 0) in_cols = 0;
  const int16_t* seg[MDL_CONV_S8_FAST_ROW16_MAX_FH];
  int8_t* out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * image_size;
    for (int32_t y = 0; y < p->output_h; ++y) {
      for (int32_t fy = 0; fy < fh; ++fy) {
        int16_t* row = scratch + (size_t)fy * row_len;
        const int32_t iy = y * p->stride_h - p->pad_h + fy * p->dilation_h;
        if (iy < 0 || iy >= p->input_h || in_cols == 0) {
          mdl_fill_s16(row, pad, row_len);
          continue;
        }
        mdl_fill_s16(row, pad, left * c);
        /* whole groups of 16 where the input has room: the entries past the run are
         * overwritten below, by the next row or land in the slack */
        mdl_widen_row_s8(row + (size_t)left * c, image + (size_t)iy * p->input_w * c,
                         in_cols * c, end);
        mdl_fill_s16(row + (size_t)(left + in_cols) * c, pad, (wp - left - in_cols) * c);
      }
      for (int32_t fy = 0; fy < fh; ++fy) seg[fy] = scratch + (size_t)fy * row_len;
      for (int32_t x = 0; x < p->output_w; x += bp) {
        const int32_t np = p->output_w - x < bp ? p->output_w - x : bp;
        const int16_t* s[MDL_CONV_S8_FAST_ROW16_MAX_FH];
        for (int32_t fy = 0; fy < fh; ++fy) s[fy] = seg[fy] + (size_t)x * kp;
        mdl_s8_igemm_ukernel_lanes16_rq__avx2(np, p->output_c, fh, s, run, kp, w16,
                                              bias_eff, rq, out, p->output_c);
        out += (size_t)np * p->output_c;
      }
    }
  }
}
#endif

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
  const int32_t K = p->filter_h * p->filter_w * p->input_c;
  const int32_t k2 = (K + 1) / 2 * 2;
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
  if (p->fused_rq == 1 && (K + 3) / 4 * 4 <= VNNI_MAX_K4 && mdl_cpu_has_avx512vnni()) {
    return conv_vnni(p, multiplier, shift, input, w16, bias_eff, output);
  }
  if (__builtin_cpu_supports("avx2")) {
    if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROW16) {
      im2col = mdl_s8_im2col_ukernel_row16__avx2;
    }
    if (p->lanes == MDL_CONV_FAST_LANES) gemm_lanes = mdl_s8_gemm_ukernel_lanes16__avx2;
    if (p->fused_rq) {
      const mdl_rq_params rq = {multiplier, shift, p->output_offset,
                                p->act_min, p->act_max, p->lean};
      if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROWS) {
        conv_rows_avx2(p, input, w16, bias_eff, &rq, output, scratch);
        return MDL_OK;
      }
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
  const int neon = mdl_cpu_has_neon();
  if (neon && int8_ok(p)) {
    /* Block by block of 16 output channels (unless the whole filter fits the stack):
     * the block's filter packed once for the int8 GEMM (16 * kk bytes on the stack),
     * then every pixel, bp at a time: int8 patches
     * (1x1 filters over the whole input at stride 1 with input_c a multiple of the k
     * step: the input pixels themselves, no im2col) and the fused GEMM.  A block with
     * a -128 weight (the SMULL form's precondition) runs the int16 lanes16-rq-neon. */
    const int32_t K = p->filter_h * p->filter_w * p->input_c;
    int32_t kq = 8; /* the k step of the layout: 4 (dot product) or 8 */
#ifdef MDL_HAVE_NEONDOT_UKERNELS
    if (mdl_cpu_has_dotprod()) kq = 4;
#endif
    const int32_t kk = (K + kq - 1) / kq * kq;
    const int direct = p->filter_h == 1 && p->filter_w == 1 && p->stride_h == 1 &&
                       p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
                       p->output_h == p->input_h && p->output_w == p->input_w &&
                       p->input_c % kq == 0;
    const int32_t total = remaining;
    int8_t* x8 = (int8_t*)scratch; /* fits: int8_ok */
    int8_t w8[INT8_STACK];
    const int32_t ps = direct ? p->input_c : kk;
    const int32_t nb16 = (oc + MDL_CONV_FAST_LANE_BLOCK - 1) / MDL_CONV_FAST_LANE_BLOCK *
                         MDL_CONV_FAST_LANE_BLOCK;
    if (p->im2col == MDL_CONV_S8_FAST_IM2COL_ROW16) im2col = mdl_s8_im2col_ukernel_row16__neon;
    if ((int64_t)nb16 * kk <= INT8_STACK) {
      /* The whole filter fits the stack: packed once, then pixels outermost (one
       * im2col per pixel for all the blocks). */
      int usable = 1;
#ifdef MDL_HAVE_NEONDOT_UKERNELS
      if (kq == 4) {
        mdl_s8_pack_ukernel_lanes16c4__neon(oc, k2, w16, w8);
      } else
#endif
      {
        usable = mdl_s8_pack_ukernel_lanes16c8__neon(oc, k2, w16, w8);
      }
      if (usable) {
        const mdl_rq_params rq = {multiplier, shift, p->output_offset,
                                  p->act_min, p->act_max, p->lean};
        for (int32_t done = 0; done < total;) {
          const int32_t np = total - done < bp ? total - done : bp;
          const int8_t* x = input + (size_t)done * p->input_c;
          if (!direct) {
            mdl_s8_im2col_ukernel_pixel8__neon(p, input, np, kk, &q, x8);
            x = x8;
          }
          int8_t* o = output + (size_t)done * oc;
#ifdef MDL_HAVE_NEONDOT_UKERNELS
          if (kq == 4) {
            mdl_s8_gemm_ukernel_lanes16c4_rq__neondot(np, oc, kk, x, ps, w8, bias_eff,
                                                      &rq, o, oc);
          } else
#endif
          {
            mdl_s8_gemm_ukernel_lanes16c8_rq__neon(np, oc, kk, x, ps, w8, bias_eff, &rq, o,
                                                   oc);
          }
          done += np;
        }
        return MDL_OK;
      }
    }
    for (int32_t ob = 0; ob < oc; ob += MDL_CONV_FAST_LANE_BLOCK) {
      const int32_t lanes = oc - ob < MDL_CONV_FAST_LANE_BLOCK ? oc - ob
                                                                : MDL_CONV_FAST_LANE_BLOCK;
      const int16_t* wb = w16 + (size_t)ob * k2;
      const mdl_rq_params rq = {multiplier + ob, shift + ob, p->output_offset,
                                p->act_min, p->act_max, p->lean};
      int usable = 1;
#ifdef MDL_HAVE_NEONDOT_UKERNELS
      if (kq == 4) {
        mdl_s8_pack_ukernel_lanes16c4__neon(lanes, k2, wb, w8);
      } else
#endif
      {
        usable = mdl_s8_pack_ukernel_lanes16c8__neon(lanes, k2, wb, w8);
      }
      mdl_pixel_pos qb = {0, 0, 0};
      for (int32_t done = 0; done < total;) {
        const int32_t np = total - done < bp ? total - done : bp;
        int8_t* o = output + (size_t)done * oc + ob;
        if (!usable) {
          im2col(p, input, np, kp, &qb, scratch);
          mdl_s8_gemm_ukernel_lanes16_rq__neon(np, lanes, k2, kp, scratch, wb,
                                               bias_eff + ob, &rq, o, oc);
          done += np;
          continue;
        }
        const int8_t* x = input + (size_t)done * p->input_c;
        if (!direct) {
          mdl_s8_im2col_ukernel_pixel8__neon(p, input, np, kk, &qb, x8);
          x = x8;
        }
#ifdef MDL_HAVE_NEONDOT_UKERNELS
        if (kq == 4) {
          mdl_s8_gemm_ukernel_lanes16c4_rq__neondot(np, lanes, kk, x, ps, w8,
                                                    bias_eff + ob, &rq, o, oc);
        } else
#endif
        {
          mdl_s8_gemm_ukernel_lanes16c8_rq__neon(np, lanes, kk, x, ps, w8, bias_eff + ob,
                                                 &rq, o, oc);
        }
        done += np;
      }
    }
    return MDL_OK;
  }
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
  if (neon && p->lanes == MDL_CONV_FAST_LANES) {
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
