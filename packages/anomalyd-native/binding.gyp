{
  "targets": [
    {
      "target_name": "anomalyd_native",
      "sources": ["src/addon.cc", "src/net.cc", "src/conv_net.cc", "src/layer_params.cc", "src/kernels.cc", "src/kernels_generic.cc", "src/kernels_avx2.cc", "src/kernels_avx512.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-Wno-psabi"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
