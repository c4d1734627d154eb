// The compute kernels of the dense autoencoder, one table per instruction set. net.cc calls them through the
// table picked at load time (kernels.cc), so the same binary runs on any x86-64 (or other) CPU.
#pragma once
#include <cstddef>

namespace anomalyd {

enum Act { ACT_NONE = 0, ACT_RELU = 1, ACT_SIGMOID = 2 };
enum ErrMetric { ERR_MSE = 0, ERR_MAE = 1, ERR_BCE = 2 };
enum Loss { LOSS_BCE = 0, LOSS_MSE = 1 };

// Every row of every matrix the kernels touch is padded to a multiple of PAD floats (zeros in the padding),
// so the kernels load whole vectors without tails whatever the vector width (4, 8 or 16 floats).
constexpr int PAD = 16;
inline int padded(int n) { return (n + PAD - 1) / PAD * PAD; }

struct Kernels {
  const char* name;
  // C[i, j] = act(sum_p A(i, p) * B[p * ldb + j] + bias[j]) for i < M, j < N (N a multiple of PAD), where
  // A(i, p) = A[i * sai + p * sap]: strides let one kernel serve X.W (forward), dZ.W^T and X^T.dZ (backward).
  // bias may be null; with accumulate, C is added to instead of overwritten (act must be ACT_NONE then).
  void (*gemm)(int M, int N, int K, const float* A, std::ptrdiff_t sai, std::ptrdiff_t sap, const float* B,
               std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, const float* bias, int act, bool accumulate);
  // Per-window reconstruction error of n rows: x (row stride d) against r (row stride ldr), over columns
  // [first, d) (first > 0: the newest steps of each window only). Writes the per-channel sums (channel =
  // column % channels) to perChannel[n * channels] and the mean over those columns to total[n].
  void (*score)(int n, int d, int first, int channels, int metric, const float* x, const float* r, std::ptrdiff_t ldr,
                float* perChannel, float* total);
  // Loss of sigmoid outputs p (row stride ldp) against targets t (row stride d), and its gradient with
  // respect to the output layer's pre-activation, scaled by `scale` (1 / (rows * d) for a batch mean), into
  // dz (row stride ldp; padding columns set to 0). Returns the summed per-element loss.
  double (*lossGrad)(int rows, int d, int loss, const float* p, std::ptrdiff_t ldp, const float* t, float scale,
                     float* dz);
  // Summed per-element loss only (validation).
  double (*lossSum)(int rows, int d, int loss, const float* p, std::ptrdiff_t ldp, const float* t);
  // g[i, j] *= (h[i, j] > 0): the relu derivative, given the layer's output h.
  void (*reluMask)(int rows, int n, float* g, std::ptrdiff_t ldg, const float* h, std::ptrdiff_t ldh);
  // out[j] = sum_i g[i, j] (bias gradient).
  void (*colSum)(int rows, int n, const float* g, std::ptrdiff_t ldg, float* out);
  // Adam as tfjs computes it: w -= lr * (m / c1) / (sqrt(v / c2) + eps), c1 = 1 - beta1^t, c2 = 1 - beta2^t.
  void (*adam)(std::ptrdiff_t n, float* w, float* m, float* v, const float* g, float lr, float beta1, float beta2,
               float eps, float c1, float c2);
};

const Kernels* kernelsGeneric();
const Kernels* kernelsAvx2();
const Kernels* kernelsAvx512();
// Best kernels this CPU runs, or the named ones ("avx512", "avx2", "generic") if the CPU supports them.
const Kernels* pickKernels(const char* name);

}  // namespace anomalyd
