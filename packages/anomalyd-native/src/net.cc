#include "net.h"

#include <algorithm>
#include <stdexcept>

namespace anomalyd {

// Rows scored per pass: activations of 256 rows (at most ~150 kB a layer for the design's model) stay in L2.
constexpr int CHUNK = 256;

Net::Net(const std::vector<int>& sizes, const std::vector<int>& acts, const Kernels* kernels) : k_(kernels) {
  if (sizes.size() < 2 || acts.size() != sizes.size() - 1) throw std::invalid_argument("sizes and activations do not match");
  for (std::size_t i = 0; i + 1 < sizes.size(); i++) {
    if (sizes[i] <= 0 || sizes[i + 1] <= 0) throw std::invalid_argument("layer sizes must be positive");
    const bool last = i + 2 == sizes.size();
    if (acts[i] != (last ? ACT_SIGMOID : ACT_RELU)) throw std::invalid_argument("hidden layers must be relu and the output sigmoid");
    Layer l;
    l.allocate(sizes[i], sizes[i + 1]);
    l.act = acts[i];
    layers_.push_back(std::move(l));
  }
  out_.resize(layers_.size());
}

void Net::setParams(int layer, const float* kernel, const float* bias) { layers_.at(layer).setParams(kernel, bias); }

void Net::getParams(int layer, float* kernel, float* bias) const { layers_.at(layer).getParams(kernel, bias); }

void Net::ensureRows(int rows) {
  if (rows <= rowsAllocated_) return;
  int maxP = 0;
  for (std::size_t i = 0; i < layers_.size(); i++) {
    out_[i].assign(static_cast<std::size_t>(rows) * layers_[i].outP, 0.0f);
    maxP = std::max({maxP, layers_[i].outP, layers_[i].inP});
  }
  gradA_.assign(static_cast<std::size_t>(rows) * maxP, 0.0f);
  gradB_.assign(static_cast<std::size_t>(rows) * maxP, 0.0f);
  rowsAllocated_ = rows;
}

void Net::forwardRows(const float* x, int rows, int upTo) {
  const float* a = x;
  std::ptrdiff_t lda = layers_[0].in;
  for (int i = 0; i < upTo; i++) {
    Layer& l = layers_[i];
    k_->gemm(rows, l.outP, l.in, a, lda, 1, l.w.data(), l.outP, out_[i].data(), l.outP, l.b.data(), l.act, false);
    a = out_[i].data();
    lda = l.outP;
  }
}

void Net::forward(const float* x, int n, int upTo, float* out) {
  ensureRows(std::min(n, CHUNK));
  const int d = inputSize();
  const int w = layers_[upTo - 1].out;
  const int ld = layers_[upTo - 1].outP;
  for (int start = 0; start < n; start += CHUNK) {
    const int rows = std::min(CHUNK, n - start);
    forwardRows(x + static_cast<std::ptrdiff_t>(start) * d, rows, upTo);
    for (int r = 0; r < rows; r++) std::copy_n(out_[upTo - 1].data() + static_cast<std::ptrdiff_t>(r) * ld, w, out + static_cast<std::ptrdiff_t>(start + r) * w);
  }
}

void Net::score(const float* x, int n, int channels, int metric, float* perChannel, float* total, float* reconstruction, int steps) {
  ensureRows(std::min(n, CHUNK));
  const int d = inputSize();
  const int first = steps > 0 ? d - steps * channels : 0;
  const int last = layerCount() - 1;
  const int ld = layers_[last].outP;
  for (int start = 0; start < n; start += CHUNK) {
    const int rows = std::min(CHUNK, n - start);
    const float* xs = x + static_cast<std::ptrdiff_t>(start) * d;
    forwardRows(xs, rows, layerCount());
    k_->score(rows, d, first, channels, metric, xs, out_[last].data(), ld,
              perChannel + static_cast<std::ptrdiff_t>(start) * channels, total + start);
    // The output the errors were taken against, for the expected values beside the scores: a copy, not a second pass.
    if (reconstruction != nullptr) {
      for (int r = 0; r < rows; r++) std::copy_n(out_[last].data() + static_cast<std::ptrdiff_t>(r) * ld, d, reconstruction + static_cast<std::ptrdiff_t>(start + r) * d);
    }
  }
}

void Net::startTraining(float learningRate) {
  adam_.start(learningRate);
  allocateTraining();
  training_ = true;
}

void Net::allocateTraining() {
  for (Layer& l : layers_) l.allocateTraining();
}

void Net::trainStep(const float* x, const float* t, int rows, int loss, double* lossSum) {
  backward(x, t, rows, loss, lossSum);
  adam_.step(*k_, layers_);
}

double Net::gradient(const float* x, const float* t, int rows, int loss) {
  if (!training_) allocateTraining();
  ensureRows(rows);
  double sum = 0;
  backward(x, t, rows, loss, &sum);
  return sum / inputSize() / rows;
}

void Net::getGradient(int layer, float* kernel, float* bias) const { layers_.at(layer).getGradient(kernel, bias); }

void Net::backward(const float* x, const float* t, int rows, int loss, double* lossSum) {
  const int L = layerCount();
  const int d = inputSize();
  forwardRows(x, rows, L);
  float* g = gradA_.data();
  float* gPrev = gradB_.data();
  *lossSum += k_->lossGrad(rows, d, loss, out_[L - 1].data(), layers_[L - 1].outP, t,
                           1.0f / (static_cast<float>(rows) * static_cast<float>(d)), g);
  for (int i = L - 1; i >= 0; i--) {
    Layer& l = layers_[i];
    const float* a = i == 0 ? x : out_[i - 1].data();
    const std::ptrdiff_t lda = i == 0 ? d : layers_[i - 1].outP;
    // dW = A^T . G (in x outP), db = column sums of G.
    k_->gemm(l.in, l.outP, rows, a, 1, lda, g, l.outP, l.gw.data(), l.outP, nullptr, ACT_NONE, false);
    k_->colSum(rows, l.outP, g, l.outP, l.gb.data());
    if (i > 0) {
      // Gradient w.r.t. the previous layer's output, G . W^T, then through its relu.
      k_->gemm(rows, l.inP, l.out, g, l.outP, 1, l.wt.data(), l.inP, gPrev, l.inP, nullptr, ACT_NONE, false);
      k_->reluMask(rows, l.inP, gPrev, l.inP, out_[i - 1].data(), layers_[i - 1].outP);
      std::swap(g, gPrev);
    }
  }
}

double Net::trainEpoch(const float* noisy, const float* clean, int n, int batch, int loss) {
  if (!training_) startTraining(adam_.learningRate());
  ensureRows(std::max(std::min(n, batch), std::min(n, CHUNK)));
  const int d = inputSize();
  double sum = 0;
  for (int start = 0; start < n; start += batch) {
    const int rows = std::min(batch, n - start);
    trainStep(noisy + static_cast<std::ptrdiff_t>(start) * d, clean + static_cast<std::ptrdiff_t>(start) * d, rows, loss, &sum);
  }
  return sum / d / n;
}

double Net::evaluate(const float* x, int n, int loss) {
  ensureRows(std::min(n, CHUNK));
  const int d = inputSize();
  const int last = layerCount() - 1;
  double sum = 0;
  for (int start = 0; start < n; start += CHUNK) {
    const int rows = std::min(CHUNK, n - start);
    const float* xs = x + static_cast<std::ptrdiff_t>(start) * d;
    forwardRows(xs, rows, layerCount());
    sum += k_->lossSum(rows, d, loss, out_[last].data(), layers_[last].outP, xs);
  }
  return sum / d / n;
}

}  // namespace anomalyd
