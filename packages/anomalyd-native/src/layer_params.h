// What the dense (net.cc) and convolutional (conv_net.cc) networks keep of each layer alike: its weights in the
// layout the GEMM kernels want, the gradients of a batch and Adam's moments, and the Adam step over all of them
// (tfjs-layers' Adam: beta1 0.9, beta2 0.999, epsilon 1e-7, bias correction through the accumulated betas).
#pragma once
#include <cstddef>
#include <vector>

#include "kernels.h"

namespace anomalyd {

struct LayerParams {
  // in x out weights (for a convolution: taps x input channels by output channels).
  int in = 0, out = 0, inP = 0, outP = 0;
  std::vector<float> w, b, wt;  // w: in x outP, b: outP, wt (the transpose, for the backward pass): out x inP
  std::vector<float> gw, gb, mw, vw, mb, vb;

  // Zeroed weights of in x out, rows and columns padded to the kernels' width.
  void allocate(int inputs, int outputs);
  // kernel: in x out row-major (tfjs's layout), bias: out.
  void setParams(const float* kernel, const float* bias);
  void getParams(float* kernel, float* bias) const;
  // The last batch's gradient in the layout of getParams; throws when none was computed yet.
  void getGradient(float* kernel, float* bias) const;
  void refreshTranspose();
  // Zeroed gradients and moments.
  void allocateTraining();
};

class Adam {
 public:
  void start(float learningRate) {
    lr_ = learningRate;
    acc1_ = beta1_;
    acc2_ = beta2_;
  }
  float learningRate() const { return lr_; }

  // One update of every layer from its gw and gb, then the transposes refreshed.
  template <class Layer>
  void step(const Kernels& k, std::vector<Layer>& layers) {
    const float c1 = 1.0f - acc1_;
    const float c2 = 1.0f - acc2_;
    for (LayerParams& l : layers) {
      k.adam(static_cast<std::ptrdiff_t>(l.w.size()), l.w.data(), l.mw.data(), l.vw.data(), l.gw.data(), lr_, beta1_, beta2_, eps_, c1, c2);
      k.adam(static_cast<std::ptrdiff_t>(l.b.size()), l.b.data(), l.mb.data(), l.vb.data(), l.gb.data(), lr_, beta1_, beta2_, eps_, c1, c2);
      l.refreshTranspose();
    }
    acc1_ *= beta1_;
    acc2_ *= beta2_;
  }

 private:
  float lr_ = 0.001f, beta1_ = 0.9f, beta2_ = 0.999f, eps_ = 1e-7f, acc1_ = 0.9f, acc2_ = 0.999f;
};

}  // namespace anomalyd
