/* The NEON microkernels of cext/src/ukernels/ against their portable -c twins,
 * XNNPACK-tester style, over shapes just below, at and above their register tiles, with
 * random data from a fixed seed.  Built statically with aarch64-linux-gnu-gcc (run under
 * qemu-aarch64) or arm-linux-gnueabihf-gcc (32-bit ARM: the NEON code compiled for
 * fpu=neon by MDL_NEON_BEGIN, run under qemu-arm) by tests/test_ukernels_arm.py.  The
 * first line says what getauxval(AT_HWCAP) reports ("hwcap asimddp 0|1" on aarch64,
 * "hwcap neon 0|1" on 32-bit ARM) and the second the path the operators take
 * (mdl_cpu_has_neon(): "dispatch neon" or "dispatch portable", when no test runs).
 * Then one line per case family, "ok <name> <cases>" or "FAIL <name> ...", and a nonzero
 * exit on any mismatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "mdl_requantize_vec.h"
#include "mdl_ukernels_neon.h"

#ifndef MDL_HAVE_NEON_UKERNELS
#error "the NEON harness needs an ARM GCC build (aarch64, or 32-bit ARM with hardware FP)"
#endif

MDL_NEON_BEGIN /* every test below runs NEON code; main checks the CPU first */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
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

/* A multiplier and shift as TFLite makes them, plus edge values. */
static void random_scale(int32_t* m, int32_t* s) {
  const uint32_t r = rnd() % 16;
  *m = r == 0 ? INT32_MIN : r == 1 ? INT32_MAX : r == 2 ? (1 << 30) : (int32_t)(rnd() | 0x40000000u);
  if (r == 3) *m = -(int32_t)(rnd() >> 1);
  const uint32_t t = rnd() % 8;
  *s = t == 0 ? rnd_range(1, 31) : t == 1 ? -31 : t == 2 ? 0 : rnd_range(-20, 0);
}

static int32_t random_acc(void) {
  const uint32_t r = rnd() % 8;
  if (r == 0) return INT32_MIN;
  if (r == 1) return INT32_MAX;
  if (r == 2) return rnd_range(-300, 300);
  if (r == 3) return (int32_t)rnd() >> rnd_range(0, 30);
  return (int32_t)((rnd() << 16) ^ rnd());
}

/* mdl_rq4_apply_neon against mdl_requantize_clamp_vec lane by lane. */
static void test_requant(void) {
  long cases = 0, bad = 0;
  for (int it = 0; it < 200000; ++it) {
    int32_t x[4], m[4], s[4], out[4];
    for (int j = 0; j < 4; ++j) {
      x[j] = random_acc();
      random_scale(&m[j], &s[j]);
    }
    const int32_t offset = rnd_range(-128, 127);
    const int32_t lo = it % 3 ? -128 : rnd_range(-128, 0), hi = it % 3 ? 127 : rnd_range(0, 127);
    const int full = it % 5 == 0; /* no clamp: the raw requantized value */
    mdl_rq4_neon r;
    mdl_rq4_init_neon(&r, m, s);
    vst1q_s32(out, mdl_rq4_apply_neon(&r, vld1q_s32(x), vdupq_n_s32(full ? 0 : offset),
                                      vdupq_n_s32(full ? INT32_MIN : lo),
                                      vdupq_n_s32(full ? INT32_MAX : hi)));
    for (int j = 0; j < 4; ++j) {
      const int32_t want = full ? mdl_requantize_vec(x[j], m[j], s[j])
                                : mdl_requantize_clamp_vec(x[j], m[j], s[j], offset, lo, hi);
      cases++;
      if (out[j] != want) {
        if (bad < 5) {
          printf("  requant x=%d m=%d s=%d full=%d: neon %d, c %d\n", x[j], m[j], s[j],
                 full, out[j], want);
        }
        bad++;
      }
    }
  }
  report("rq4-neon", cases, bad);
}

/* Random lanes16 operands: np patches of kp int16 (int8 range) plus slack, weights of n
 * channels in the lanes16 layout (zero where k >= K or o >= n), bias for n rounded up. */
typedef struct {
  int32_t np, n, K, k2, kp, nb;
  int16_t* patches;
  int16_t* w;
  int32_t* bias;
  int32_t* mult;
  int32_t* shift;
} gemm_case;

static void make_gemm(gemm_case* g, int32_t np, int32_t n, int32_t K, int32_t kp) {
  g->np = np;
  g->n = n;
  g->K = K;
  g->k2 = (K + 1) / 2 * 2;
  g->kp = kp;
  g->nb = (n + 15) / 16 * 16;
  const size_t plen = (size_t)np * kp + MDL_CONV_S8_FAST_SLACK;
  g->patches = malloc(plen * sizeof(int16_t));
  for (size_t i = 0; i < plen; ++i) g->patches[i] = (int16_t)rnd_range(-128, 127);
  g->w = calloc((size_t)g->nb * g->k2, sizeof(int16_t));
  for (int32_t o = 0; o < n; ++o) {
    for (int32_t k = 0; k < K; ++k) {
      g->w[(size_t)(o / 16) * 16 * g->k2 + (size_t)(k / 2) * 32 + (o % 16) * 2 + k % 2] =
          (int16_t)rnd_range(-128, 127);
    }
  }
  g->bias = malloc((size_t)g->nb * sizeof(int32_t));
  g->mult = malloc((size_t)n * sizeof(int32_t));
  g->shift = malloc((size_t)n * sizeof(int32_t));
  for (int32_t o = 0; o < g->nb; ++o) g->bias[o] = rnd() % 4 ? rnd_range(-100000, 100000) : random_acc();
  for (int32_t o = 0; o < n; ++o) random_scale(&g->mult[o], &g->shift[o]);
}

static void free_gemm(gemm_case* g) {
  free(g->patches);
  free(g->w);
  free(g->bias);
  free(g->mult);
  free(g->shift);
}

static const int32_t NS[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 64};
static const int32_t KS[] = {1, 2, 3, 9, 16, 27, 40, 63, 64, 65, 144, 576};

static void test_gemm(void) {
  long cases = 0, bad = 0, cases_rq = 0, bad_rq = 0;
  for (size_t a = 0; a < sizeof NS / sizeof NS[0]; ++a) {
    for (size_t b = 0; b < sizeof KS / sizeof KS[0]; ++b) {
      for (int32_t np = 1; np <= 6; ++np) {
        const int32_t K = KS[b], n = NS[a];
        /* kp: K exactly (odd K reads one entry past a patch) or rounded up to 16 */
        const int32_t kp = (np + (int32_t)b) % 2 ? K : (K + 15) / 16 * 16;
        gemm_case g;
        make_gemm(&g, np, n, K, kp);
        int32_t* acc_c = malloc((size_t)np * n * sizeof(int32_t));
        int32_t* acc_v = malloc((size_t)np * n * sizeof(int32_t));
        mdl_s8_gemm_ukernel_lanes16__c(np, n, g.k2, kp, g.patches, g.w, g.bias, acc_c);
        mdl_s8_gemm_ukernel_lanes16__neon(np, n, g.k2, kp, g.patches, g.w, g.bias, acc_v);
        cases++;
        if (memcmp(acc_c, acc_v, (size_t)np * n * sizeof(int32_t)) != 0) {
          if (bad < 5) printf("  lanes16 np=%d n=%d K=%d kp=%d differ\n", np, n, K, kp);
          bad++;
        }
        /* fused requantization, output rows out_stride apart (extra bytes untouched) */
        const int32_t stride = n + (np % 3 == 0 ? 5 : 0);
        const int32_t offset = rnd_range(-128, 127);
        const int32_t lo = np % 2 ? -128 : rnd_range(-128, 0);
        const int32_t hi = np % 2 ? 127 : rnd_range(0, 127);
        const size_t olen = (size_t)np * stride;
        int8_t* out_c = malloc(olen);
        int8_t* out_v = malloc(olen);
        memset(out_c, 0x5A, olen);
        memset(out_v, 0x5A, olen);
        mdl_s32_requant_ukernel_rows__c(acc_c, np, n, g.mult, g.shift, offset, lo, hi,
                                        MDL_ROUNDING_DOUBLE, out_c, stride);
        const mdl_rq_params rq = {g.mult, g.shift, offset, lo, hi, 0};
        mdl_s8_gemm_ukernel_lanes16_rq__neon(np, n, g.k2, kp, g.patches, g.w, g.bias, &rq,
                                             out_v, stride);
        cases_rq++;
        if (memcmp(out_c, out_v, olen) != 0) {
          if (bad_rq < 5) printf("  lanes16-rq np=%d n=%d K=%d kp=%d differ\n", np, n, K, kp);
          bad_rq++;
        }
        free(out_c);
        free(out_v);
        free(acc_c);
        free(acc_v);
        free_gemm(&g);
      }
    }
  }
  report("s8-gemm-lanes16-neon", cases, bad);
  report("s8-gemm-lanes16-rq-neon", cases_rq, bad_rq);
}

/* s8-im2col-pixel8-neon against s8-im2col-pixel-c narrowed: any geometry (channels
 * 1..40, filters up to 4x4, strides, paddings, both dilations), kk = K rounded up to 4
 * or 8, blocks of 1..7 pixels. */
static void test_im2col_pixel8(void) {
  long cases = 0, bad = 0;
  static const int32_t CH[] = {1, 3, 4, 8, 13, 16, 17, 32, 40};
  for (size_t ci = 0; ci < sizeof CH / sizeof CH[0]; ++ci) {
    for (int32_t fw = 1; fw <= 4; ++fw) {
      for (int32_t fh = 1; fh <= 4; ++fh) {
        for (int32_t var = 0; var < 4; ++var) {
          const int32_t c = CH[ci];
          mdl_conv_s8_fast_params p;
          memset(&p, 0, sizeof p);
          p.batches = 1 + var % 2;
          p.input_c = p.filter_c = c;
          p.filter_h = fh;
          p.filter_w = fw;
          p.dilation_h = 1 + (var == 3);
          p.dilation_w = 1 + (var == 2);
          p.input_h = rnd_range(p.dilation_h * (fh - 1) + 1, p.dilation_h * (fh - 1) + 6);
          p.input_w = rnd_range(p.dilation_w * (fw - 1) + 1, p.dilation_w * (fw - 1) + 7);
          p.stride_h = 1 + var % 2;
          p.stride_w = 1 + (var / 2) % 2;
          p.pad_h = var == 0 ? 0 : rnd_range(0, fh - 1);
          p.pad_w = var == 0 ? 0 : rnd_range(0, fw - 1);
          p.output_h = (p.input_h + 2 * p.pad_h - p.dilation_h * (fh - 1) - 1) / p.stride_h + 1;
          p.output_w = (p.input_w + 2 * p.pad_w - p.dilation_w * (fw - 1) - 1) / p.stride_w + 1;
          p.input_offset = rnd_range(-127, 128);
          const int32_t K = fh * fw * c;
          const int32_t kk = var % 2 ? (K + 3) / 4 * 4 : (K + 7) / 8 * 8;
          const size_t in_len = (size_t)p.batches * p.input_h * p.input_w * c;
          int8_t* input = malloc(in_len);
          for (size_t i = 0; i < in_len; ++i) input[i] = (int8_t)rnd_range(-128, 127);
          const int32_t total = p.batches * p.output_h * p.output_w;
          int16_t* p16 = malloc(((size_t)7 * K + MDL_CONV_S8_FAST_SLACK) * sizeof(int16_t));
          int8_t* want = malloc((size_t)total * kk);
          int8_t* got = malloc((size_t)total * kk + 16);
          mdl_pixel_pos qc = {0, 0, 0}, qv = {0, 0, 0};
          for (int32_t done = 0; done < total;) {
            int32_t np = rnd_range(1, 7);
            if (np > total - done) np = total - done;
            mdl_s8_im2col_ukernel_pixel__c(&p, input, np, K, &qc, p16);
            mdl_narrow_patches_neon(np, K, K, kk, p16, want + (size_t)done * kk);
            mdl_s8_im2col_ukernel_pixel8__neon(&p, input, np, kk, &qv, got + (size_t)done * kk);
            done += np;
          }
          cases++;
          if (memcmp(want, got, (size_t)total * kk) != 0 || qc.x != qv.x || qc.y != qv.y ||
              qc.b != qv.b) {
            if (bad < 5) printf("  im2col-pixel8 c=%d fw=%d fh=%d var=%d differ\n", c, fw, fh, var);
            bad++;
          }
          free(input);
          free(p16);
          free(want);
          free(got);
        }
      }
    }
  }
  report("s8-im2col-pixel8-neon", cases, bad);
}

/* The lanes16c4 packing (NEON vs C) and, on a CPU with the dot product, the SDOT GEMM
 * against the lanes16 C GEMM + requantization on the same values (int8 patches, their
 * int16 widening for the twin, narrowed back by mdl_narrow_patches_neon). */
static void test_dot(void) {
  long cases = 0, bad = 0, cases_p = 0, bad_p = 0;
#ifdef MDL_HAVE_NEONDOT_UKERNELS
  const int dot = mdl_cpu_has_dotprod();
#else
  const int dot = 0; /* no SDOT microkernel in this build (32-bit ARM) */
#endif
  for (size_t a = 0; a < sizeof NS / sizeof NS[0]; ++a) {
    for (size_t b = 0; b < sizeof KS / sizeof KS[0]; ++b) {
      for (int32_t np = 1; np <= 9; np += (np < 6 ? 1 : 3)) {
        const int32_t K = KS[b], n = NS[a];
        const int32_t kp = (np + (int32_t)b) % 2 ? K : (K + 15) / 16 * 16;
        gemm_case g;
        make_gemm(&g, np, n, K, kp);
        const int32_t k4 = (g.k2 + 3) / 4 * 4;
        const size_t wlen = (size_t)g.nb * k4;
        int8_t* w8c = malloc(wlen);
        int8_t* w8v = malloc(wlen);
        memset(w8c, 0x11, wlen);
        memset(w8v, 0x22, wlen);
        mdl_s8_pack_ukernel_lanes16c4__c(n, g.k2, g.w, w8c);
        mdl_s8_pack_ukernel_lanes16c4__neon(n, g.k2, g.w, w8v);
        cases_p++;
        if (memcmp(w8c, w8v, wlen) != 0) {
          if (bad_p < 5) printf("  pack n=%d K=%d differ\n", n, K);
          bad_p++;
        }
#ifdef MDL_HAVE_NEONDOT_UKERNELS
        if (dot) {
          int8_t* x8 = malloc((size_t)np * k4 + 16);
          memset(x8, 0x77, (size_t)np * k4 + 16);
          mdl_narrow_patches_neon(np, K, kp, k4, g.patches, x8);
          /* the twin reads the int16 patches: zero past K as the narrowed ones */
          for (int32_t i = 0; i < np; ++i) {
            for (int32_t k = K; k < kp; ++k) g.patches[(size_t)i * kp + k] = 0;
          }
          int32_t* acc = malloc((size_t)np * n * sizeof(int32_t));
          mdl_s8_gemm_ukernel_lanes16__c(np, n, g.k2, kp, g.patches, g.w, g.bias, acc);
          const int32_t stride = n + (np % 3 == 0 ? 3 : 0);
          const int32_t offset = rnd_range(-128, 127);
          const size_t olen = (size_t)np * stride;
          int8_t* out_c = malloc(olen);
          int8_t* out_v = malloc(olen);
          memset(out_c, 0x5A, olen);
          memset(out_v, 0x5A, olen);
          mdl_s32_requant_ukernel_rows__c(acc, np, n, g.mult, g.shift, offset, -128, 127,
                                          MDL_ROUNDING_DOUBLE, out_c, stride);
          const mdl_rq_params rq = {g.mult, g.shift, offset, -128, 127, 0};
          mdl_s8_gemm_ukernel_lanes16c4_rq__neondot(np, n, k4, x8, k4, w8v, g.bias, &rq,
                                                    out_v, stride);
          cases++;
          if (memcmp(out_c, out_v, olen) != 0) {
            if (bad < 5) printf("  lanes16c4-rq np=%d n=%d K=%d differ\n", np, n, K);
            bad++;
          }
          free(acc);
          free(out_c);
          free(out_v);
          free(x8);
        }
#endif
        free(w8c);
        free(w8v);
        free_gemm(&g);
      }
    }
  }
  report("s8-pack-lanes16c4-neon", cases_p, bad_p);
  if (dot) report("s8-gemm-lanes16c4-rq-neondot", cases, bad);
}

/* The lanes16c8 packing (NEON vs C, and its -128 flag) and the SMULL / SMLAL2 GEMM
 * against the lanes16 C GEMM + requantization on the same values (weights in
 * [-127, 127], its precondition). */
static void test_c8(void) {
  long cases = 0, bad = 0, cases_p = 0, bad_p = 0;
  for (size_t a = 0; a < sizeof NS / sizeof NS[0]; ++a) {
    for (size_t b = 0; b < sizeof KS / sizeof KS[0]; ++b) {
      for (int32_t np = 1; np <= 9; np += (np < 6 ? 1 : 3)) {
        const int32_t K = KS[b], n = NS[a];
        const int32_t kp = (np + (int32_t)b) % 2 ? K : (K + 15) / 16 * 16;
        gemm_case g;
        make_gemm(&g, np, n, K, kp);
        if (np == 2) { /* extremes: every patch entry -128, every weight -127 or 127 */
          for (size_t i = 0; i < (size_t)np * kp + MDL_CONV_S8_FAST_SLACK; ++i) g.patches[i] = -128;
          for (int32_t o = 0; o < n; ++o) {
            for (int32_t k = 0; k < K; ++k) {
              g.w[(size_t)(o / 16) * 16 * g.k2 + (size_t)(k / 2) * 32 + (o % 16) * 2 + k % 2] =
                  (int16_t)(b % 2 ? -127 : 127);
            }
          }
        }
        const int with_min = np == 3; /* keep the -128 weights: the flag must say 0 */
        int has_min = 0;
        for (size_t i = 0; i < (size_t)g.nb * g.k2; ++i) {
          if (g.w[i] == -128) {
            if (with_min) has_min = 1; else g.w[i] = -127;
          }
        }
        const int32_t k8 = (g.k2 + 7) / 8 * 8;
        const size_t wlen = (size_t)g.nb * k8;
        int8_t* w8c = malloc(wlen);
        int8_t* w8v = malloc(wlen);
        memset(w8c, 0x11, wlen);
        memset(w8v, 0x22, wlen);
        const int32_t okc = mdl_s8_pack_ukernel_lanes16c8__c(n, g.k2, g.w, w8c);
        const int32_t okv = mdl_s8_pack_ukernel_lanes16c8__neon(n, g.k2, g.w, w8v);
        cases_p++;
        if (memcmp(w8c, w8v, wlen) != 0 || okc != okv || okc != !has_min) {
          if (bad_p < 5) printf("  pack-c8 n=%d K=%d differ (flags %d %d)\n", n, K, okc, okv);
          bad_p++;
        }
        if (!has_min) {
          int8_t* x8 = malloc((size_t)np * k8 + 16);
          memset(x8, 0x77, (size_t)np * k8 + 16);
          mdl_narrow_patches_neon(np, K, kp, k8, g.patches, x8);
          for (int32_t i = 0; i < np; ++i) {
            for (int32_t k = K; k < kp; ++k) g.patches[(size_t)i * kp + k] = 0;
          }
          int32_t* acc = malloc((size_t)np * n * sizeof(int32_t));
          mdl_s8_gemm_ukernel_lanes16__c(np, n, g.k2, kp, g.patches, g.w, g.bias, acc);
          const int32_t stride = n + (np % 3 == 0 ? 3 : 0);
          const int32_t offset = rnd_range(-128, 127);
          const size_t olen = (size_t)np * stride;
          int8_t* out_c = malloc(olen);
          int8_t* out_v = malloc(olen);
          memset(out_c, 0x5A, olen);
          memset(out_v, 0x5A, olen);
          mdl_s32_requant_ukernel_rows__c(acc, np, n, g.mult, g.shift, offset, -128, 127,
                                          MDL_ROUNDING_DOUBLE, out_c, stride);
          const mdl_rq_params rq = {g.mult, g.shift, offset, -128, 127, 0};
          mdl_s8_gemm_ukernel_lanes16c8_rq__neon(np, n, k8, x8, k8, w8v, g.bias, &rq, out_v,
                                                 stride);
          cases++;
          if (memcmp(out_c, out_v, olen) != 0) {
            if (bad < 5) printf("  lanes16c8-rq np=%d n=%d K=%d differ\n", np, n, K);
            bad++;
          }
          free(acc);
          free(out_c);
          free(out_v);
          free(x8);
        }
        free(w8c);
        free(w8v);
        free_gemm(&g);
      }
    }
  }
  report("s8-pack-lanes16c8-neon", cases_p, bad_p);
  report("s8-gemm-lanes16c8-rq-neon", cases, bad);
}

/* The depthwise lanes microkernel: pixels n 1..5, groups of 8 and 16 channels (at
 * channel 0 and 8 of a block), 1..7 pairs of taps (5: the unrolled 3x3 copy). */
static void test_dwconv(void) {
  long cases = 0, bad = 0, cases8 = 0, bad8 = 0;
  enum { BUF = 4096 };
  static int8_t input[BUF];
  for (int32_t i = 0; i < BUF; ++i) input[i] = (int8_t)rnd_range(-128, 127);
  for (int32_t i = 0; i < 400; ++i) input[i] = -128; /* the extreme cases read these */
  for (int32_t pairs = 1; pairs <= 7; ++pairs) {
    for (int32_t lanes = 8; lanes <= 16; lanes += 8) {
      for (int32_t jo = 0; jo + lanes <= 16; jo += 8) {
        for (int32_t n = 1; n <= 5; ++n) {
          const int32_t c = 16 + 16 * (n % 2) + 8 * (pairs % 2); /* channels per pixel */
          const ptrdiff_t step = (ptrdiff_t)c * (1 + n % 2);      /* stride_w 1 or 2 */
          const int8_t* ptr[16];
          for (int32_t t = 0; t < 2 * pairs; ++t) {
            ptr[t] = input + rnd_range(0, BUF - 1 - (int32_t)(step * n) - 64);
          }
          int16_t wb[7 * 32];
          for (int32_t i = 0; i < 2 * pairs * 16; ++i) wb[i] = (int16_t)rnd_range(-128, 127);
          int32_t bias[16], m[16], s[16];
          for (int32_t j = 0; j < 16; ++j) {
            bias[j] = rnd() % 4 ? rnd_range(-100000, 100000) : random_acc();
            random_scale(&m[j], &s[j]);
          }
          const int32_t stride = c;
          const mdl_rq_params rq = {m, s, rnd_range(-128, 127), n % 2 ? -128 : -100,
                                    n % 2 ? 127 : 90, 0};
          int8_t out_c[5 * 48], out_v[5 * 48];
          memset(out_c, 0x5A, sizeof out_c);
          memset(out_v, 0x5A, sizeof out_v);
          const ptrdiff_t d0 = jo + (c > 16 ? 16 : 0);
          mdl_s8_dwconv_ukernel_lanes16_rq__c(n, lanes, pairs, ptr, d0, step, wb + 2 * jo,
                                              bias, &rq, out_c, stride);
          mdl_s8_dwconv_ukernel_lanes16_rq__neon(n, lanes, pairs, ptr, d0, step,
                                                 wb + 2 * jo, bias, &rq, out_v, stride);
          cases++;
          if (memcmp(out_c, out_v, sizeof out_c) != 0) {
            if (bad < 5) printf("  dwconv pairs=%d lanes=%d jo=%d n=%d differ\n", pairs, lanes, jo, n);
            bad++;
          }
          /* int8 weights: no -128 (then the pack says 1), extremes every third case */
          for (int32_t i = 0; i < 2 * pairs * 16; ++i) {
            if (wb[i] == -128) wb[i] = -127;
            if (n == 3) wb[i] = i % 3 ? -127 : 127;
          }
          if (n == 3) {
            for (int32_t t = 0; t < 2 * pairs; ++t) ptr[t] = input; /* below: all -128 */
          }
          int8_t w8[32 * 32 + 16];
          const int packed = mdl_pack_dw_lanes16c2_neon(pairs, wb, w8);
          memset(out_c, 0x5A, sizeof out_c);
          memset(out_v, 0x5A, sizeof out_v);
          mdl_s8_dwconv_ukernel_lanes16_rq__c(n, lanes, pairs, ptr, d0, step, wb + 2 * jo,
                                              bias, &rq, out_c, stride);
          mdl_s8_dwconv_ukernel_lanes16c2_rq__neon(n, lanes, pairs, ptr, d0, step, w8 + jo,
                                                   bias, &rq, out_v, stride);
          cases8++;
          if (!packed || memcmp(out_c, out_v, sizeof out_c) != 0) {
            if (bad8 < 5) printf("  dwconv-c2 pairs=%d lanes=%d jo=%d n=%d differ\n", pairs, lanes, jo, n);
            bad8++;
          }
          wb[0] = -128;
          cases8++;
          if (mdl_pack_dw_lanes16c2_neon(pairs, wb, w8) != 0) bad8++;
        }
      }
    }
  }
  report("s8-dwconv-lanes16-rq-neon", cases, bad);
  report("s8-dwconv-lanes16c2-rq-neon", cases8, bad8);
}

/* s8-im2col-row16-neon against s8-im2col-pixel-c: filter rows of 2..16 entries
 * (input_c x filter_w), 1..4 filter rows (3: the stepping-pointer path), strides,
 * paddings, dilation_h, 1..2 images, blocks of 1..7 pixels so that runs start and end
 * anywhere along a row; the images are placed at the end of their buffer, so an
 * over-read past the input would be caught by the emulator only if unmapped (the
 * row16 bound checks keep every load inside). */
static void test_im2col_row16(void) {
  long cases = 0, bad = 0;
  static const int32_t CH[] = {1, 2, 3, 4, 5, 8, 16};
  for (size_t ci = 0; ci < sizeof CH / sizeof CH[0]; ++ci) {
    const int32_t c = CH[ci];
    for (int32_t fw = 1; fw * c <= 16; ++fw) {
      for (int32_t fh = 1; fh <= 4; ++fh) {
        if (fh * fw < 2) continue;
        for (int32_t var = 0; var < 6; ++var) {
          mdl_conv_s8_fast_params p;
          memset(&p, 0, sizeof p);
          p.batches = 1 + var % 2;
          p.input_c = c;
          p.filter_c = c;
          p.filter_h = fh;
          p.filter_w = fw;
          p.input_h = rnd_range(fh, fh + 6);
          p.input_w = rnd_range(fw, fw + 9);
          p.stride_h = 1 + (var / 2) % 2;
          p.stride_w = 1 + var % 3 / 2;
          p.dilation_h = var == 5 ? 2 : 1;
          p.dilation_w = 1;
          p.pad_h = var % 3 == 0 ? 0 : rnd_range(0, fh - 1);
          p.pad_w = var % 3 == 0 ? 0 : rnd_range(0, fw - 1);
          if (p.input_h + 2 * p.pad_h < p.dilation_h * (fh - 1) + 1) p.dilation_h = 1;
          p.output_h = (p.input_h + 2 * p.pad_h - p.dilation_h * (fh - 1) - 1) / p.stride_h + 1;
          p.output_w = (p.input_w + 2 * p.pad_w - fw) / p.stride_w + 1;
          p.input_offset = rnd_range(-127, 128);
          const int32_t K = fh * fw * c, kp = K;
          const size_t in_len = (size_t)p.batches * p.input_h * p.input_w * c;
          int8_t* input = malloc(in_len);
          for (size_t i = 0; i < in_len; ++i) input[i] = (int8_t)rnd_range(-128, 127);
          const int32_t total = p.batches * p.output_h * p.output_w;
          const size_t plen = (size_t)total * kp + MDL_CONV_S8_FAST_SLACK + 16;
          int16_t* pc = malloc(plen * sizeof(int16_t));
          int16_t* pv = malloc(plen * sizeof(int16_t));
          mdl_pixel_pos qc = {0, 0, 0}, qv = {0, 0, 0};
          for (int32_t done = 0; done < total;) {
            int32_t np = rnd_range(1, 7);
            if (np > total - done) np = total - done;
            mdl_s8_im2col_ukernel_pixel__c(&p, input, np, kp, &qc, pc + (size_t)done * kp);
            mdl_s8_im2col_ukernel_row16__neon(&p, input, np, kp, &qv, pv + (size_t)done * kp);
            done += np;
          }
          cases++;
          if (memcmp(pc, pv, (size_t)total * kp * sizeof(int16_t)) != 0 || qc.b != qv.b ||
              qc.y != qv.y || qc.x != qv.x) {
            if (bad < 5) printf("  im2col-row16 c=%d fw=%d fh=%d var=%d differ\n", c, fw, fh, var);
            bad++;
          }
          free(input);
          free(pc);
          free(pv);
        }
      }
    }
  }
  report("s8-im2col-row16-neon", cases, bad);
}

/* s8-gemv-8c16-neon against s8-gemv-8c16-c: 1..41 channels (partial blocks of 8),
 * 1..70 inputs (partial groups of 16), extreme values, with and without a bias. */
static void test_gemv(void) {
  long cases = 0, bad = 0;
  for (int32_t n = 1; n <= 41; n += 4) {
    for (int32_t k = 1; k <= 70; k += (k < 20 ? 1 : 7)) {
      for (int32_t var = 0; var < 3; ++var) {
        const int32_t groups = (k + 15) / 16, blocks = (n + 7) / 8;
        const size_t wlen = (size_t)blocks * groups * 8 * 16;
        int8_t* x = malloc((size_t)k);
        int8_t* w = malloc(wlen);
        int32_t* bias = malloc((size_t)n * sizeof(int32_t));
        int32_t* ac = malloc((size_t)n * sizeof(int32_t));
        int32_t* av = malloc((size_t)n * sizeof(int32_t));
        for (int32_t i = 0; i < k; ++i) x[i] = (int8_t)(var == 2 ? -128 : rnd_range(-128, 127));
        for (size_t i = 0; i < wlen; ++i) w[i] = (int8_t)(var == 2 ? -128 : rnd_range(-128, 127));
        for (int32_t i = 0; i < n; ++i) bias[i] = var == 1 ? INT32_MAX - rnd_range(0, 9) : rnd_range(-100000, 100000);
        const int32_t* b = var == 0 && n % 2 ? 0 : bias;
        mdl_s8_gemv_ukernel_8c16__c(n, k, x, w, b, ac);
        mdl_s8_gemv_ukernel_8c16__neon(n, k, x, w, b, av);
        cases++;
        if (memcmp(ac, av, (size_t)n * sizeof(int32_t)) != 0) {
          if (bad < 5) printf("  gemv n=%d k=%d var=%d differ\n", n, k, var);
          bad++;
        }
        free(x);
        free(w);
        free(bias);
        free(ac);
        free(av);
      }
    }
  }
  report("s8-gemv-8c16-neon", cases, bad);
}

/* s8-vadd-x16-neon against s8-vadd-x16-c: rows of 1..40 and 100 elements (partial and
 * whole 16-element steps), every mode and b_stride, random parameters over the
 * microkernel's documented range with their extremes (offsets +-255, left_shift 10..21,
 * input shifts 0..-31, output shifts -31..31, multipliers 2^30 and INT32_MAX). */
static void test_vadd(void) {
  long cases = 0, bad = 0;
  for (int32_t rep = 0; rep < 400; ++rep) {
    const int32_t n = rep % 41 == 40 ? 100 : rep % 41 + 1;
    mdl_s8_vadd_params p;
    const int32_t left_shift = rep % 5 == 0 ? rnd_range(10, 21) : 20;
    p.k = 31 - left_shift;
    p.round = 1 << (p.k - 1);
    int32_t* scales[2][3] = {{&p.a_hi, &p.a_lo, &p.a_right}, {&p.b_hi, &p.b_lo, &p.b_right}};
    for (int q = 0; q < 2; ++q) {
      const uint32_t r = rnd() % 8;
      const int32_t m = r == 0 ? (1 << 30) : r == 1 ? INT32_MAX : (int32_t)(rnd() | 0x40000000u);
      *scales[q][0] = m >> p.k;
      *scales[q][1] = m & ((1 << p.k) - 1);
      *scales[q][2] = r == 2 ? 31 : r == 3 ? 0 : rnd_range(0, 3);
    }
    p.a_offset = rep % 7 == 0 ? 255 : rep % 7 == 1 ? -255 : rnd_range(-128, 127);
    p.b_offset = rep % 11 == 0 ? -255 : rnd_range(-128, 127);
    const uint32_t r = rnd() % 8;
    p.out_multiplier = r == 0 ? (1 << 30) : r == 1 ? INT32_MAX : (int32_t)(rnd() | 0x40000000u);
    p.out_shift = r == 2 ? -31 : r == 3 ? rnd_range(1, 31) : rnd_range(-24, -8);
    p.out_offset = rnd_range(-128, 127);
    p.act_min = rnd_range(-128, 20);
    p.act_max = rnd_range(p.act_min, 127);
    p.mode = rep % 3;
    p.b_stride = (rep / 3) % 2;
    int8_t a[100], b[100], oc[100], ov[100];
    for (int32_t i = 0; i < n; ++i) {
      a[i] = (int8_t)(rep % 13 == 0 ? -128 : rnd_range(-128, 127));
      b[i] = (int8_t)(rep % 17 == 0 ? 127 : rnd_range(-128, 127));
    }
    mdl_s8_vadd_ukernel_x16__c(n, a, b, &p, oc);
    mdl_s8_vadd_ukernel_x16__neon(n, a, b, &p, ov);
    cases++;
    if (memcmp(oc, ov, (size_t)n) != 0) {
      if (bad < 5) printf("  vadd n=%d mode=%d b_stride=%d differ\n", n, p.mode, p.b_stride);
      bad++;
    }
  }
  report("s8-vadd-x16-neon", cases, bad);
}

MDL_NEON_END

int main(void) {
#if defined(__aarch64__)
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
  printf("hwcap asimddp %d\n", (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? 1 : 0);
#else
  printf("hwcap neon %d\n", (getauxval(AT_HWCAP) & HWCAP_NEON) ? 1 : 0);
#endif
  if (!mdl_cpu_has_neon()) {
    printf("dispatch portable\n");
    return 0;
  }
  printf("dispatch neon\n");
  test_requant();
  test_gemm();
  test_dwconv();
  test_im2col_row16();
  test_im2col_pixel8();
  test_dot();
  test_c8();
  test_gemv();
  test_vadd();
  return failures ? 1 : 0;
}
