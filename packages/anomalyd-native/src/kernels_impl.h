// Kernel bodies, written once with GCC vector extensions and compiled once per instruction set: the including
// file sets the target (#pragma GCC target), VBYTES (vector width in bytes), MR (rows per register block) and
// KNS (namespace). No intrinsics, so the same code is the AVX-512, AVX2+FMA and SSE2/portable kernel; a*b+c is
// contracted to FMA where the target has it (GCC's default -ffp-contract=fast in GNU mode).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace anomalyd {
namespace KNS {

constexpr int V = VBYTES / 4;
typedef float vf __attribute__((vector_size(VBYTES)));
typedef float vfu __attribute__((vector_size(VBYTES), aligned(4)));  // unaligned access
typedef int32_t vi __attribute__((vector_size(VBYTES)));

static inline vf load(const float* p) { return *reinterpret_cast<const vfu*>(p); }
static inline void store(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
static inline vf splat(float x) { return vf{} + x; }
static inline vf vmax(vf a, vf b) { return a > b ? a : b; }
static inline vf vmin(vf a, vf b) { return a < b ? a : b; }
static inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < V; i++) s += v[i];
  return s;
}

// exp with Cephes' polynomial (about 1 ulp on [-87, 88]); inputs are clamped to that range.
static inline vf vexp(vf x) {
  x = vmin(vmax(x, splat(-87.3f)), splat(88.3f));
  const vf magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  vf n = (x * splat(1.44269504088896341f) + magic) - magic;
  vf r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  vf y = splat(1.9875691500e-4f);
  y = y * r + splat(1.3981999507e-3f);
  y = y * r + splat(8.3334519073e-3f);
  y = y * r + splat(4.1665795894e-2f);
  y = y * r + splat(1.6666665459e-1f);
  y = y * r + splat(5.0000001201e-1f);
  y = y * (r * r) + r + splat(1.0f);
  vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  vf scale;
  std::memcpy(&scale, &e, sizeof scale);
  return y * scale;
}

// Natural log with Cephes' polynomial, for x > 0 (callers clip to [1e-7, 1 - 1e-7]).
static inline vf vlog(vf x) {
  vi bits;
  std::memcpy(&bits, &x, sizeof bits);
  vi ex = ((bits >> 23) & 0xff) - 126;
  vi mbits = (bits & 0x007fffff) | 0x3f000000;  // mantissa in [0.5, 1)
  vf m;
  std::memcpy(&m, &mbits, sizeof m);
  vi small = m < splat(0.707106781186547524f);
  ex = ex + small;  // small is -1 where true
  vf msmall = m + m - splat(1.0f);
  vf mbig = m - splat(1.0f);
  m = small ? msmall : mbig;
  vf e = __builtin_convertvector(ex, vf);
  vf z = m * m;
  vf y = splat(7.0376836292e-2f);
  y = y * m + splat(-1.1514610310e-1f);
  y = y * m + splat(1.1676998740e-1f);
  y = y * m + splat(-1.2420140846e-1f);
  y = y * m + splat(1.4249322787e-1f);
  y = y * m + splat(-1.6668057665e-1f);
  y = y * m + splat(2.0000714765e-1f);
  y = y * m + splat(-2.4999993993e-1f);
  y = y * m + splat(3.3333331174e-1f);
  y = y * m * z;
  y = y + e * splat(-2.12194440e-4f);
  y = y - splat(0.5f) * z;
  return m + y + e * splat(0.693359375f);
}

static inline vf activate(vf x, int act) {
  if (act == ACT_RELU) return vmax(x, splat(0.0f));
  if (act == ACT_SIGMOID) return splat(1.0f) / (splat(1.0f) + vexp(-x));
  return x;
}

// One MR x (NV * V) block of C held in registers for the whole K loop.
template <int R, int NV>
static inline void block(int K, const float* A, std::ptrdiff_t sai, std::ptrdiff_t sap, const float* B,
                         std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, const float* bias, int act, bool accumulate) {
  vf acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[i][v] = accumulate ? load(C + i * ldc + v * V) : bias ? load(bias + v * V) : splat(0.0f);
  for (int p = 0; p < K; p++) {
    vf b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = load(B + p * ldb + v * V);
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      vf a = splat(A[i * sai + p * sap]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[i][v] += a * b[v];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) store(C + i * ldc + v * V, activate(acc[i][v], act));
}

template <int NV>
static void rows(int M, int K, const float* A, std::ptrdiff_t sai, std::ptrdiff_t sap, const float* B,
                 std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, const float* bias, int act, bool accumulate) {
  int i = 0;
  for (; i + MR <= M; i += MR) block<MR, NV>(K, A + i * sai, sai, sap, B, ldb, C + i * ldc, ldc, bias, act, accumulate);
  const float* a = A + i * sai;
  float* c = C + i * ldc;
  switch (M - i) {
#define TAIL(r) \
  case r: block<r, NV>(K, a, sai, sap, B, ldb, c, ldc, bias, act, accumulate); break;
    TAIL(1) TAIL(2) TAIL(3) TAIL(4) TAIL(5)
#if MR > 6
    TAIL(6) TAIL(7)
#endif
#if MR > 8
    TAIL(8) TAIL(9) TAIL(10) TAIL(11)
#endif
#undef TAIL
    default: break;
  }
}

static void gemm(int M, int N, int K, const float* A, std::ptrdiff_t sai, std::ptrdiff_t sap, const float* B,
                 std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, const float* bias, int act, bool accumulate) {
  // Column panels of two vectors (then one): a panel of B (K x 2V floats) stays in L1 while every row block
  // of A streams past it.
  int j = 0;
  for (; j + 2 * V <= N; j += 2 * V) rows<2>(M, K, A, sai, sap, B + j, ldb, C + j, ldc, bias ? bias + j : nullptr, act, accumulate);
  for (; j < N; j += V) rows<1>(M, K, A, sai, sap, B + j, ldb, C + j, ldc, bias ? bias + j : nullptr, act, accumulate);
}

static constexpr float EPS = 1e-7f;  // tfjs's backend epsilon, used to clip probabilities

static inline vf elementError(vf x, vf r, int metric) {
  if (metric == ERR_MSE) return (x - r) * (x - r);
  if (metric == ERR_MAE) {
    vf dlt = x - r;
    return vmax(dlt, -dlt);
  }
  vf p = vmin(vmax(r, splat(EPS)), splat(1.0f - EPS));
  return -(x * vlog(p) + (splat(1.0f) - x) * vlog(splat(1.0f) - p));
}

// Mask of the first `count` lanes (count < V), for row tails.
static inline vi laneMask(int count) {
  vi m;
  for (int i = 0; i < V; i++) m[i] = i < count ? -1 : 0;
  return m;
}

static inline vf loadPartial(const float* p, int count) {
  vf v = splat(0.0f);
  for (int i = 0; i < count; i++) v[i] = p[i];
  return v;
}

static void score(int n, int d, int first, int channels, int metric, const float* x, const float* r, std::ptrdiff_t ldr,
                  float* perChannel, float* total) {
  // From a first column on the vector grid, a row tail's full load of r stays within its padded row.
  const bool paddedTail = first % V == 0;
  for (int row = 0; row < n; row++) {
    const float* xr = x + static_cast<std::ptrdiff_t>(row) * d;
    const float* rr = r + row * ldr;
    float* pc = perChannel + static_cast<std::ptrdiff_t>(row) * channels;
    for (int c = 0; c < channels; c++) pc[c] = 0;
    vf acc = splat(0.0f);
    for (int j = first; j < d; j += V) {
      const int count = d - j < V ? d - j : V;
      const vf rv = count == V || paddedTail ? load(rr + j) : loadPartial(rr + j, count);
      vf e = elementError(count == V ? load(xr + j) : loadPartial(xr + j, count), rv, metric);
      if (count < V) e = laneMask(count) ? e : splat(0.0f);
      acc += e;
      if (channels > 1) {
        // Values are time-major, channels interleaved: column k belongs to channel k % channels.
        int c = j % channels;
        for (int k = 0; k < count; k++) {
          pc[c] += e[k];
          if (++c == channels) c = 0;
        }
      }
    }
    const float sum = hsum(acc);
    if (channels == 1) pc[0] = sum;
    total[row] = sum / static_cast<float>(d - first);
  }
}

// Per-element loss and d(loss)/d(pre-activation) of a sigmoid output. BCE follows tfjs-layers: p is clipped
// to [eps, 1 - eps] and the gradient is zero where the clip is active; d/dz of BCE(sigmoid(z)) = p - t.
static inline vf lossOf(vf p, vf t, int loss) {
  if (loss == LOSS_MSE) return (p - t) * (p - t);
  vf pc = vmin(vmax(p, splat(EPS)), splat(1.0f - EPS));
  return -(t * vlog(pc) + (splat(1.0f) - t) * vlog(splat(1.0f) - pc));
}

static inline vf gradOf(vf p, vf t, int loss) {
  if (loss == LOSS_MSE) return splat(2.0f) * (p - t) * p * (splat(1.0f) - p);
  vi inside = (p >= splat(EPS)) & (p <= splat(1.0f - EPS));
  return inside ? p - t : splat(0.0f);
}

static double lossGrad(int rows, int d, int loss, const float* p, std::ptrdiff_t ldp, const float* t, float scale,
                       float* dz) {
  double total = 0;
  const int dp = padded(d);
  for (int i = 0; i < rows; i++) {
    const float* pr = p + i * ldp;
    const float* tr = t + static_cast<std::ptrdiff_t>(i) * d;
    float* gr = dz + i * ldp;
    vf acc = splat(0.0f);
    int j = 0;
    for (; j + V <= d; j += V) {
      vf pv = load(pr + j), tv = load(tr + j);
      acc += lossOf(pv, tv, loss);
      store(gr + j, gradOf(pv, tv, loss) * scale);
    }
    if (j < d) {
      vf pv = load(pr + j), tv = loadPartial(tr + j, d - j);
      vi m = laneMask(d - j);
      acc += m ? lossOf(pv, tv, loss) : splat(0.0f);
      store(gr + j, m ? gradOf(pv, tv, loss) * scale : splat(0.0f));
      j += V;
    }
    for (; j < dp; j += V) store(gr + j, splat(0.0f));
    total += hsum(acc);
  }
  return total;
}

static double lossSum(int rows, int d, int loss, const float* p, std::ptrdiff_t ldp, const float* t) {
  double total = 0;
  for (int i = 0; i < rows; i++) {
    const float* pr = p + i * ldp;
    const float* tr = t + static_cast<std::ptrdiff_t>(i) * d;
    vf acc = splat(0.0f);
    int j = 0;
    for (; j + V <= d; j += V) acc += lossOf(load(pr + j), load(tr + j), loss);
    if (j < d) acc += laneMask(d - j) ? lossOf(load(pr + j), loadPartial(tr + j, d - j), loss) : splat(0.0f);
    total += hsum(acc);
  }
  return total;
}

static void reluMask(int rows, int n, float* g, std::ptrdiff_t ldg, const float* h, std::ptrdiff_t ldh) {
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < n; j += V) {
      vf hv = load(h + i * ldh + j);
      store(g + i * ldg + j, hv > splat(0.0f) ? load(g + i * ldg + j) : splat(0.0f));
    }
}

static void colSum(int rows, int n, const float* g, std::ptrdiff_t ldg, float* out) {
  for (int j = 0; j < n; j += V) {
    vf acc = splat(0.0f);
    for (int i = 0; i < rows; i++) acc += load(g + i * ldg + j);
    store(out + j, acc);
  }
}

static void adam(std::ptrdiff_t n, float* w, float* m, float* v, const float* g, float lr, float beta1, float beta2,
                 float eps, float c1, float c2) {
  std::ptrdiff_t i = 0;
  for (; i + V <= n; i += V) {
    vf gv = load(g + i);
    vf mv = load(m + i) * beta1 + gv * (1.0f - beta1);
    vf vv = load(v + i) * beta2 + gv * gv * (1.0f - beta2);
    store(m + i, mv);
    store(v + i, vv);
    vf vh = vv / c2;
    vf root;
    for (int k = 0; k < V; k++) root[k] = std::sqrt(vh[k]);
    store(w + i, load(w + i) - lr * (mv / c1) / (root + eps));
  }
  for (; i < n; i++) {
    m[i] = m[i] * beta1 + g[i] * (1.0f - beta1);
    v[i] = v[i] * beta2 + g[i] * g[i] * (1.0f - beta2);
    w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
  }
}

static const Kernels table = {KNAME, gemm, score, lossGrad, lossSum, reluMask, colSum, adam};

}  // namespace KNS
}  // namespace anomalyd
