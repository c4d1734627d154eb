// AVX-512 kernels: 16 floats a vector, 12 x 32 register blocks (24 of the 32 zmm registers).
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512vl,avx512dq,fma")
#define VBYTES 64
#define MR 12
#define KNS avx512
#define KNAME "avx512"
#include "kernels_impl.h"
namespace anomalyd {
const Kernels* kernelsAvx512() { return &avx512::table; }
}  // namespace anomalyd
#else
#include "kernels.h"
namespace anomalyd {
const Kernels* kernelsAvx512() { return nullptr; }
}  // namespace anomalyd
#endif
