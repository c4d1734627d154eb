// Run-time choice of the kernel table: the widest instruction set this CPU has, unless one is named.
#include <cstring>

#include "kernels.h"

namespace anomalyd {

static bool supported(const char* name) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (std::strcmp(name, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  if (std::strcmp(name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return std::strcmp(name, "generic") == 0;
}

const Kernels* pickKernels(const char* name) {
  if (name != nullptr && *name != '\0') {
    if (!supported(name)) return nullptr;
    if (std::strcmp(name, "avx512") == 0) return kernelsAvx512();
    if (std::strcmp(name, "avx2") == 0) return kernelsAvx2();
    return kernelsGeneric();
  }
  if (supported("avx512")) return kernelsAvx512();
  if (supported("avx2")) return kernelsAvx2();
  return kernelsGeneric();
}

}  // namespace anomalyd
