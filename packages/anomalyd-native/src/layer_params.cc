#include "layer_params.h"

#include <algorithm>
#include <stdexcept>

namespace anomalyd {

void LayerParams::allocate(int inputs, int outputs) {
  in = inputs;
  out = outputs;
  inP = padded(in);
  outP = padded(out);
  w.assign(static_cast<std::size_t>(in) * outP, 0.0f);
  b.assign(outP, 0.0f);
  wt.assign(static_cast<std::size_t>(out) * inP, 0.0f);
}

void LayerParams::setParams(const float* kernel, const float* bias) {
  for (int i = 0; i < in; i++) std::copy(kernel + static_cast<std::ptrdiff_t>(i) * out, kernel + static_cast<std::ptrdiff_t>(i + 1) * out, w.begin() + static_cast<std::ptrdiff_t>(i) * outP);
  std::copy(bias, bias + out, b.begin());
  refreshTranspose();
}

void LayerParams::getParams(float* kernel, float* bias) const {
  for (int i = 0; i < in; i++) std::copy_n(w.begin() + static_cast<std::ptrdiff_t>(i) * outP, out, kernel + static_cast<std::ptrdiff_t>(i) * out);
  std::copy_n(b.begin(), out, bias);
}

void LayerParams::getGradient(float* kernel, float* bias) const {
  if (gw.empty()) throw std::logic_error("no gradient computed yet");
  for (int i = 0; i < in; i++) std::copy_n(gw.begin() + static_cast<std::ptrdiff_t>(i) * outP, out, kernel + static_cast<std::ptrdiff_t>(i) * out);
  std::copy_n(gb.begin(), out, bias);
}

void LayerParams::refreshTranspose() {
  for (int i = 0; i < in; i++)
    for (int j = 0; j < out; j++) wt[static_cast<std::size_t>(j) * inP + i] = w[static_cast<std::size_t>(i) * outP + j];
}

void LayerParams::allocateTraining() {
  gw.assign(w.size(), 0.0f);
  gb.assign(b.size(), 0.0f);
  mw.assign(w.size(), 0.0f);
  vw.assign(w.size(), 0.0f);
  mb.assign(b.size(), 0.0f);
  vb.assign(b.size(), 0.0f);
}

}  // namespace anomalyd
