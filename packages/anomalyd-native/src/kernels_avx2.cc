// AVX2 + FMA kernels: 8 floats a vector, 6 x 16 register blocks (12 of the 16 ymm registers).
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#define VBYTES 32
#define MR 6
#define KNS avx2
#define KNAME "avx2"
#include "kernels_impl.h"
namespace anomalyd {
const Kernels* kernelsAvx2() { return &avx2::table; }
}  // namespace anomalyd
#else
#include "kernels.h"
namespace anomalyd {
const Kernels* kernelsAvx2() { return nullptr; }
}  // namespace anomalyd
#endif
