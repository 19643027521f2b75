/* On-the-fly input quantization of the hybrid kernels (mdl_hybrid.h).  Written
 * without libm: the rounding below is exact for the clamped range it is used on. */
#include "mdl_hybrid.h"

/* round half away from zero of v, v already within [-260, 260] (so the truncating
 * cast and the subtraction are exact). */
static int32_t round_small(float v) {
  int32_t t = (int32_t)v;
  const float frac = v - (float)t;
  if (frac >= 0.5f) ++t;
  else if (frac <= -0.5f) --t;
  return t;
}

static float clampf(float v, float lo, float hi) {
  if (!(v == v)) return 0.0f; /* NaN: not a number LiteRT defines either */
  return v < lo ? lo : v > hi ? hi : v;
}

void mdl_hybrid_quantize_symmetric(const float* x, int32_t n, int8_t* q, float* scale) {
  float mn = 0.0f, mx = 0.0f;
  if (n > 0) mn = mx = x[0];
  for (int32_t i = 1; i < n; ++i) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  const float amn = mn < 0 ? -mn : mn, amx = mx < 0 ? -mx : mx;
  const float range = amn > amx ? amn : amx;
  if (range == 0.0f) {
    for (int32_t i = 0; i < n; ++i) q[i] = 0;
    *scale = 1.0f;
    return;
  }
  *scale = range / 127.0f;
  const float inv = 127.0f / range;
  for (int32_t i = 0; i < n; ++i) {
    int32_t v = round_small(clampf(x[i] * inv, -128.0f, 128.0f));
    q[i] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
  }
}

static double round_double(double v) { /* half away from zero, |v| < 2^52 */
  const int neg = v < 0;
  if (neg) v = -v;
  double t = (double)(int64_t)v;
  if (v - t >= 0.5) t += 1.0;
  return neg ? -t : t;
}

void mdl_hybrid_quantize_asymmetric(const float* x, int32_t n, int8_t* q, float* scale,
                                    int32_t* zero_point) {
  float mn = 0.0f, mx = 0.0f;
  if (n > 0) mn = mx = x[0];
  for (int32_t i = 1; i < n; ++i) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  const float rmin = mn < 0.0f ? mn : 0.0f;
  const float rmax = mx > 0.0f ? mx : 0.0f;
  if (rmin == rmax) {
    for (int32_t i = 0; i < n; ++i) q[i] = 0;
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double s = (double)(rmax - rmin) / (qmax - qmin);
  const double zp_from_min = qmin - (double)rmin / s;
  const double zp_from_max = qmax - (double)rmax / s;
  const double err_min = -qmin + (rmin < 0 ? -(double)rmin / s : (double)rmin / s);
  const double err_max = qmax + (rmax < 0 ? -(double)rmax / s : (double)rmax / s);
  const double zpd = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t zp;
  if (zpd <= qmin) zp = -128;
  else if (zpd >= qmax) zp = 127;
  else zp = (int32_t)round_double(zpd);
  *scale = (float)s;
  *zero_point = zp;
  const float inv = 1.0f / *scale;
  /* round(x * inv) + zp: the LiteRT 2.x wheel rounds before adding the zero point
   * (measured: ties such as x * inv = 80.5 with zp -128 give -47, not -48). */
  for (int32_t i = 0; i < n; ++i) {
    int32_t v = round_small(clampf(x[i] * inv, -260.0f, 260.0f)) + zp;
    q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
  }
}
