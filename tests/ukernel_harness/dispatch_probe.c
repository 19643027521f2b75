/* The run-time NEON dispatch of the fast convolution operators on 32-bit ARM (and
 * aarch64), end to end: the operators themselves (mdl_conv_s8_fast in the lanes form,
 * every NEON variant: int8 c8 GEMM over int8 patches or straight from the input, the
 * int16 lanes16 GEMM with and without the fused requantization, the row16 im2col, and
 * mdl_depthwise_conv_s8_fast_lanes) against the plain reference kernels mdl_conv_s8 /
 * mdl_depthwise_conv_s8, over random geometries with a fixed seed.  The filters are
 * packed and the effective biases folded here as mdl_conv.h documents (prepare's job).
 *
 * Built statically with the whole C core by tests/test_ukernels_arm.py and run under
 * qemu-arm on cores with and without NEON: the first line is "neon 1" or "neon 0"
 * (mdl_cpu_has_neon(), the operators' one dispatch rule; "neon -" in a build without
 * NEON microkernels), then "ok <operator> <cases>" or "FAIL ...".  On a core without
 * NEON a wrong dispatch is an illegal instruction (the emulator stops the probe), so a
 * clean run with "neon 0" shows the portable path ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_conv.h"
#include "mdl_ukernels.h"

static uint32_t rng_state = 0x2545F491u;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static int32_t rnd_range(int32_t lo, int32_t hi) { /* [lo, hi] */
  return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static int failures = 0;

static void report(const char* name, long cases, long bad) {
  if (bad) {
    printf("FAIL %s %ld of %ld cases differ\n", name, bad, cases);
    failures++;
  } else {
    printf("ok %s %ld\n", name, cases);
  }
}

/* Per-channel scales as TFLite makes them (multiplier in [2^30, 2^31), shift mostly
 * right), a left shift in some cases. */
static int32_t scales(int32_t n, int32_t* m, int32_t* s, int left) {
  int32_t lean = 1;
  for (int32_t o = 0; o < n; ++o) {
    m[o] = (int32_t)(rnd() | 0x40000000u) & 0x7FFFFFFF;
    if (m[o] < (1 << 30)) m[o] = 1 << 30;
    s[o] = left && o % 3 == 0 ? rnd_range(1, 2) : rnd_range(-12, -5);
    if (s[o] > 0) lean = 0;
  }
  return lean;
}

static void fill_s8(int8_t* x, size_t n, int lowest) {
  for (size_t i = 0; i < n; ++i) x[i] = (int8_t)rnd_range(lowest, 127);
}

/* mdl_conv_s8_fast (lanes form) against mdl_conv_s8. */
static void test_conv(void) {
  static const int32_t OC[] = {1, 7, 8, 9, 16, 17, 24, 33};
  long cases = 0, bad = 0;
  for (int32_t it = 0; it < 240; ++it) {
    const int32_t geom = it % 4; /* 1x1 direct, 1x1 strided, 3x3, 3x1 / 5x5 */
    mdl_conv_s8_params r;
    memset(&r, 0, sizeof r);
    r.batches = 1 + (it % 7 == 0);
    r.input_c = r.filter_c = geom == 0 ? 8 * rnd_range(1, 6) : rnd_range(1, 20);
    r.filter_h = r.filter_w = geom < 2 ? 1 : geom == 2 ? 3 : 5;
    if (geom == 3 && it % 8 == 3) r.filter_w = 1, r.filter_h = 3;
    r.output_c = OC[it % (int32_t)(sizeof OC / sizeof OC[0])];
    r.stride_h = r.stride_w = geom == 0 ? 1 : rnd_range(1, 2);
    r.dilation_h = r.dilation_w = 1;
    if (geom == 3 && it % 8 == 7) r.dilation_h = 2;
    r.pad_h = geom == 0 ? 0 : rnd_range(0, r.filter_h / 2);
    r.pad_w = geom == 0 ? 0 : rnd_range(0, r.filter_w / 2);
    r.input_h = rnd_range(r.dilation_h * (r.filter_h - 1) + 1, 9);
    r.input_w = rnd_range(r.filter_w, 10);
    r.output_h = (r.input_h + 2 * r.pad_h - r.dilation_h * (r.filter_h - 1) - 1) / r.stride_h + 1;
    r.output_w = (r.input_w + 2 * r.pad_w - r.filter_w) / r.stride_w + 1;
    r.input_offset = it % 5 == 0 ? 128 : rnd_range(-127, 128);
    r.output_offset = rnd_range(-128, 127);
    r.act_min = it % 3 ? -128 : rnd_range(-128, 0);
    r.act_max = it % 3 ? 127 : rnd_range(0, 127);
    r.rounding = MDL_ROUNDING_DOUBLE;
    const int32_t ic = r.input_c, oc = r.output_c;
    const int32_t K = r.filter_h * r.filter_w * ic, k2 = (K + 1) / 2 * 2;
    const int32_t nb = (oc + 15) / 16 * 16;
    const size_t in_len = (size_t)r.batches * r.input_h * r.input_w * ic;
    const size_t out_len = (size_t)r.batches * r.output_h * r.output_w * oc;
    int8_t* input = malloc(in_len);
    int8_t* filter = malloc((size_t)oc * K);
    int16_t* w16 = calloc((size_t)nb * k2, sizeof(int16_t));
    int32_t* bias = malloc((size_t)oc * sizeof(int32_t));
    int32_t* bias_eff = calloc((size_t)nb, sizeof(int32_t));
    int32_t* m = malloc((size_t)oc * sizeof(int32_t));
    int32_t* s = malloc((size_t)oc * sizeof(int32_t));
    int8_t* want = malloc(out_len);
    int8_t* got = malloc(out_len);
    fill_s8(input, in_len, -128);
    fill_s8(filter, (size_t)oc * K, it % 2 ? -127 : -128); /* -128: the int16 NEON GEMM */
    const int32_t lean = scales(oc, m, s, it % 6 == 5);
    for (int32_t o = 0; o < oc; ++o) {
      bias[o] = rnd_range(-20000, 20000);
      uint32_t sum = 0;
      for (int32_t k = 0; k < K; ++k) {
        const int8_t w = filter[(size_t)o * K + k];
        w16[(size_t)(o / 16) * 16 * k2 + (size_t)(k / 2) * 32 + (o % 16) * 2 + k % 2] = w;
        sum += (uint32_t)w;
      }
      bias_eff[o] = (int32_t)((uint32_t)bias[o] + (uint32_t)r.input_offset * sum);
    }
    mdl_conv_s8(&r, m, s, input, filter, bias, want);
    for (int32_t variant = 0; variant < 3; ++variant) {
      mdl_conv_s8_fast_params p;
      memset(&p, 0, sizeof p);
      memcpy(&p, &r, sizeof r); /* the same leading fields (MDL_CONV_S8_FAST_PARAMS) */
      p.block_pixels = rnd_range(1, MDL_CONV_S8_FAST_MAX_BLOCK);
      p.lanes = MDL_CONV_FAST_LANES;
      p.fused_rq = variant != 1;
      p.lean = lean;
      p.im2col = MDL_CONV_S8_FAST_IM2COL_PIXEL;
      if (variant == 2 && r.filter_h * r.filter_w > 1 && r.filter_w * ic <= 16 &&
          mdl_conv_s8_fast_patch_len(&p) == K) {
        p.im2col = MDL_CONV_S8_FAST_IM2COL_ROW16;
      }
      const int32_t bytes = mdl_conv_s8_fast_get_buffer_size(&p);
      int16_t* scratch = malloc((size_t)bytes);
      memset(got, 0x5A, out_len);
      const mdl_status st = mdl_conv_s8_fast(&p, m, s, input, (const int8_t*)w16, bias_eff,
                                             got, scratch);
      cases++;
      if (st != MDL_OK || memcmp(want, got, out_len) != 0) {
        if (bad < 5) {
          printf("  conv it=%d variant=%d ic=%d oc=%d f=%dx%d status=%d differ\n", it,
                 variant, ic, oc, r.filter_h, r.filter_w, (int)st);
        }
        bad++;
      }
      free(scratch);
    }
    free(input);
    free(filter);
    free(w16);
    free(bias);
    free(bias_eff);
    free(m);
    free(s);
    free(want);
    free(got);
  }
  report("conv_s8_fast", cases, bad);
}

/* mdl_depthwise_conv_s8_fast_lanes against mdl_depthwise_conv_s8 (depth multiplier 1). */
static void test_depthwise(void) {
  long cases = 0, bad = 0;
  for (int32_t it = 0; it < 160; ++it) {
    mdl_depthwise_conv_s8_params p;
    memset(&p, 0, sizeof p);
    p.batches = 1 + (it % 9 == 0);
    p.input_c = it % 4 == 0 ? 16 * rnd_range(1, 3) : rnd_range(1, 40);
    p.filter_h = it % 5 == 4 ? rnd_range(1, 5) : 3;
    p.filter_w = it % 5 == 4 ? rnd_range(1, 5) : 3;
    p.depth_multiplier = 1;
    p.stride_h = p.stride_w = rnd_range(1, 2);
    p.dilation_h = p.dilation_w = it % 7 == 6 ? 2 : 1;
    p.pad_h = rnd_range(0, p.filter_h / 2);
    p.pad_w = rnd_range(0, p.filter_w / 2);
    p.input_h = rnd_range(p.dilation_h * (p.filter_h - 1) + 1, 9);
    p.input_w = rnd_range(p.dilation_w * (p.filter_w - 1) + 1, 11);
    p.output_h = (p.input_h + 2 * p.pad_h - p.dilation_h * (p.filter_h - 1) - 1) / p.stride_h + 1;
    p.output_w = (p.input_w + 2 * p.pad_w - p.dilation_w * (p.filter_w - 1) - 1) / p.stride_w + 1;
    p.input_offset = it % 5 == 0 ? 128 : rnd_range(-127, 128);
    p.output_offset = rnd_range(-128, 127);
    p.act_min = it % 3 ? -128 : rnd_range(-128, 0);
    p.act_max = it % 3 ? 127 : rnd_range(0, 127);
    p.rounding = MDL_ROUNDING_DOUBLE;
    const int32_t c = p.input_c, taps = p.filter_h * p.filter_w, pairs = (taps + 1) / 2;
    const int32_t nb = (c + 15) / 16 * 16;
    const size_t in_len = (size_t)p.batches * p.input_h * p.input_w * c;
    const size_t out_len = (size_t)p.batches * p.output_h * p.output_w * c;
    int8_t* input = malloc(in_len);
    int8_t* filter = malloc((size_t)taps * c);
    int16_t* packed = calloc((size_t)nb * pairs * 2, sizeof(int16_t));
    int32_t* bias = malloc((size_t)c * sizeof(int32_t));
    int32_t* bias_eff = calloc((size_t)nb, sizeof(int32_t));
    int32_t* m = malloc((size_t)c * sizeof(int32_t));
    int32_t* s = malloc((size_t)c * sizeof(int32_t));
    int8_t* want = malloc(out_len);
    int8_t* got = malloc(out_len);
    fill_s8(input, in_len, -128);
    fill_s8(filter, (size_t)taps * c, it % 2 ? -127 : -128); /* -128: the int16 kernel */
    const int32_t lean = scales(c, m, s, it % 6 == 5);
    for (int32_t ch = 0; ch < c; ++ch) {
      bias[ch] = rnd_range(-20000, 20000);
      uint32_t sum = 0;
      for (int32_t t = 0; t < taps; ++t) {
        const int8_t w = filter[(size_t)t * c + ch];
        packed[((size_t)(ch / 16) * pairs + t / 2) * 32 + (ch % 16) * 2 + t % 2] = w;
        sum += (uint32_t)w;
      }
      bias_eff[ch] = (int32_t)((uint32_t)bias[ch] + (uint32_t)p.input_offset * sum);
    }
    mdl_depthwise_conv_s8(&p, m, s, input, filter, bias, want);
    memset(got, 0x5A, out_len);
    const mdl_status st = mdl_depthwise_conv_s8_fast_lanes(
        &p, m, s, input, packed, bias_eff, got, MDL_DEPTHWISE_FAST_LANES, lean);
    cases++;
    if (st != MDL_OK || memcmp(want, got, out_len) != 0) {
      if (bad < 5) {
        printf("  depthwise it=%d c=%d f=%dx%d status=%d differ\n", it, c, p.filter_h,
               p.filter_w, (int)st);
      }
      bad++;
    }
    free(input);
    free(filter);
    free(packed);
    free(bias);
    free(bias_eff);
    free(m);
    free(s);
    free(want);
    free(got);
  }
  report("depthwise_conv_s8_fast_lanes", cases, bad);
}

int main(void) {
#ifdef MDL_HAVE_NEON_UKERNELS
  printf("neon %d\n", mdl_cpu_has_neon() ? 1 : 0);
#else
  printf("neon -\n");
#endif
  test_conv();
  test_depthwise();
  return failures ? 1 : 0;
}
