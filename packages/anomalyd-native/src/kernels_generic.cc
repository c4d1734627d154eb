// Portable kernels: 4 floats a vector (SSE2 on x86-64, NEON on arm64, scalar code elsewhere), for CPUs without
// AVX2.
#define VBYTES 16
#define MR 4
#define KNS generic
#define KNAME "generic"
#include "kernels_impl.h"
namespace anomalyd {
const Kernels* kernelsGeneric() { return &generic::table; }
}  // namespace anomalyd
