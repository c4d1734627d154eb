#include "conv_net.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace anomalyd {

namespace {

// Floats of the largest im2col matrix one pass builds: 128 Ki floats (512 KB) stay near the L2 cache with the
// layer's weights, so a pass does not stream its columns from memory.
constexpr std::ptrdiff_t COLS_BUDGET = 1 << 17;
constexpr int MAX_CHUNK = 256;
// Output channels up to which a convolution runs transposed (a GEMM of padded(out) = 16 columns for 8 or fewer
// would compute at least twice the products it needs).
constexpr int THIN_CHANNELS = 8;

// 'same' padding before the first step, as tfjs computes it (computeConv2DInfo): the total padding is
// max(0, (out - 1) * stride + taps - in), the smaller half before.
int samePadBefore(int inLen, int outLen, int taps, int stride) {
  return std::max(0, (outLen - 1) * stride + taps - inLen) / 2;
}

}  // namespace

ConvNet::ConvNet(const ConvSpec& spec, const Kernels* kernels) : spec_(spec), k_(kernels) {
  const int L = static_cast<int>(spec.filters.size());
  if (L < 1) throw std::invalid_argument("a convolutional autoencoder needs at least one encoder layer");
  if (spec.steps <= 0 || spec.channels <= 0 || spec.kernel <= 0 || spec.latent <= 0) throw std::invalid_argument("steps, channels, kernel and latent must be positive");
  for (int f : spec.filters)
    if (f <= 0) throw std::invalid_argument("filters must be positive");
  if (spec.steps < spec.kernel || spec.steps < (1 << L)) throw std::invalid_argument("window too short for these convolutions");

  std::vector<int> len{spec.steps};
  for (int i = 0; i < L; i++) len.push_back((len[i] + 1) / 2);
  const int deepest = len[L];
  const int deepF = spec.filters[L - 1];

  auto conv = [&](int inLen, int inC, int outLen, int outC, int stride, int pad, bool upsample, int act) {
    Layer l{};
    l.conv = true;
    l.inLen = inLen;
    l.inC = inC;
    l.outLen = outLen;
    l.K = spec.kernel;
    l.stride = stride;
    l.pad = pad;
    l.upsample = upsample;
    l.thin = outC <= THIN_CHANNELS;
    l.in = spec.kernel * inC;
    l.out = outC;
    l.act = act;
    l.outP = padded(outC);
    l.view = View{static_cast<std::ptrdiff_t>(outLen) * l.outP, l.outP, outLen, outC};
    return l;
  };
  auto dense = [&](int in, int out, int viewLen, int viewCh) {
    Layer l{};
    l.conv = false;
    l.in = in;
    l.out = out;
    l.act = ACT_RELU;
    l.outP = padded(out);
    l.view = View{l.outP, viewCh, viewLen, viewCh};
    return l;
  };
  for (int i = 0; i < L; i++) {
    const int inC = i == 0 ? spec.channels : spec.filters[i - 1];
    layers_.push_back(conv(len[i], inC, len[i + 1], spec.filters[i], 2, samePadBefore(len[i], len[i + 1], spec.kernel, 2), false, ACT_RELU));
  }
  layers_.push_back(dense(deepest * deepF, spec.latent, 1, spec.latent));
  layers_.push_back(dense(spec.latent, deepest * deepF, deepest, deepF));
  int inLen = deepest;
  for (int i = L - 1; i >= 0; i--) {
    const bool last = i == 0;
    const int outC = last ? spec.channels : spec.filters[i - 1];
    // Stride 1 over the upsampled 2 x inLen steps; the last layer computes only the steps the crop keeps.
    const int outLen = last ? spec.steps : 2 * inLen;
    layers_.push_back(conv(inLen, spec.filters[i], outLen, outC, 1, samePadBefore(2 * inLen, 2 * inLen, spec.kernel, 1), true, last ? ACT_SIGMOID : ACT_RELU));
    inLen *= 2;
  }
  std::ptrdiff_t widest = 1;
  for (Layer& l : layers_) {
    l.allocate(l.in, l.out);
    if (l.conv) widest = std::max<std::ptrdiff_t>(widest, static_cast<std::ptrdiff_t>(l.outLen) * std::max(l.in, l.outP));
  }
  chunk_ = static_cast<int>(std::clamp<std::ptrdiff_t>(COLS_BUDGET / widest, 1, MAX_CHUNK));
  out_.resize(layers_.size());
  cols_.resize(layers_.size());
}

int ConvNet::outputWidth(int upTo) const {
  if (upTo == layerCount()) return inputSize();
  const View& v = layers_[upTo - 1].view;
  return v.len * v.ch;
}

void ConvNet::setParams(int layer, const float* kernel, const float* bias) { layers_.at(layer).setParams(kernel, bias); }

void ConvNet::getParams(int layer, float* kernel, float* bias) const { layers_.at(layer).getParams(kernel, bias); }

ConvNet::View ConvNet::inputView() const {
  return View{inputSize(), spec_.channels, spec_.steps, spec_.channels};
}

ConvNet::View ConvNet::viewBefore(int layer) const {
  return layer == 0 ? inputView() : layers_[layer - 1].view;
}

void ConvNet::ensureRows(int rows) {
  if (rows <= rowsAllocated_) return;
  const std::size_t r = static_cast<std::size_t>(rows);
  const int d = inputSize();
  std::size_t grad = static_cast<std::size_t>(padded(d)), dcols = grad, thin = 0;
  for (std::size_t i = 0; i < layers_.size(); i++) {
    const Layer& l = layers_[i];
    const std::size_t perRow = static_cast<std::size_t>(rowsOf(l, 1)) * l.outP;
    out_[i].assign(r * perRow, 0.0f);
    if (l.conv) cols_[i].assign(static_cast<std::size_t>(l.thin ? padded(static_cast<int>(r) * l.outLen) : static_cast<int>(r) * l.outLen) * l.in, 0.0f);
    if (l.thin) thin = std::max(thin, static_cast<std::size_t>(l.out) * padded(static_cast<int>(r) * l.outLen));
    grad = std::max(grad, perRow);
    dcols = std::max(dcols, static_cast<std::size_t>(rowsOf(l, 1)) * l.inP);
  }
  flat_.assign(r * layers_[spec_.filters.size()].in, 0.0f);
  thin_.assign(thin, 0.0f);
  recon_.assign(r * padded(d), 0.0f);
  gradA_.assign(r * grad, 0.0f);
  gradB_.assign(r * grad, 0.0f);
  dcols_.assign(r * dcols, 0.0f);
  rowsAllocated_ = rows;
}

namespace {

// Each output step's receptive field as a row of taps x channels (zeros in the padding). With `upsample` the
// input is read as if each step were repeated (nearest-neighbour x2): step u of the upsampled input is step u / 2.
template <typename View>
void im2col(const float* a, const View& v, int rows, int outLen, int taps, int stride, int pad, bool upsample, float* cols) {
  const int ch = v.ch;
  const int inLen = upsample ? 2 * v.len : v.len;
  const std::ptrdiff_t width = static_cast<std::ptrdiff_t>(taps) * ch;
  for (int b = 0; b < rows; b++) {
    const float* sample = a + b * v.sample;
    for (int o = 0; o < outLen; o++) {
      float* row = cols + (static_cast<std::ptrdiff_t>(b) * outLen + o) * width;
      for (int k = 0; k < taps; k++) {
        const int u = o * stride + k - pad;
        float* dst = row + k * ch;
        if (u < 0 || u >= inLen) {
          std::fill_n(dst, ch, 0.0f);
        } else {
          const int t = upsample ? u >> 1 : u;
          std::copy_n(sample + t * v.step, ch, dst);
        }
      }
    }
  }
}

// The same matrix transposed: row (tap, channel), column (sample, output step), ld columns a row (zeros past
// the positions), so that W^T . cols^T is a GEMM whose wide dimension is the positions.
template <typename View>
void im2colT(const float* a, const View& v, int rows, int outLen, int taps, int stride, int pad, bool upsample, float* cols, std::ptrdiff_t ld) {
  const int ch = v.ch;
  const int inLen = upsample ? 2 * v.len : v.len;
  const std::ptrdiff_t positions = static_cast<std::ptrdiff_t>(rows) * outLen;
  for (int k = 0; k < taps; k++) {
    for (int c = 0; c < ch; c++) {
      float* dst = cols + static_cast<std::ptrdiff_t>(k * ch + c) * ld;
      for (int b = 0; b < rows; b++) {
        const float* sample = a + b * v.sample + c;
        float* out = dst + static_cast<std::ptrdiff_t>(b) * outLen;
        for (int o = 0; o < outLen; o++) {
          const int u = o * stride + k - pad;
          out[o] = u < 0 || u >= inLen ? 0.0f : sample[(upsample ? u >> 1 : u) * v.step];
        }
      }
      std::fill(dst + positions, dst + ld, 0.0f);
    }
  }
}

// The inverse bookkeeping: each column's gradient added back at the input step it was read from.
template <typename View>
void col2im(const float* dcols, std::ptrdiff_t ld, int rows, int outLen, int taps, int stride, int pad, bool upsample, const View& v, float* dx) {
  const int ch = v.ch;
  const int inLen = upsample ? 2 * v.len : v.len;
  for (int b = 0; b < rows; b++) {
    float* sample = dx + b * v.sample;
    for (int o = 0; o < outLen; o++) {
      const float* row = dcols + (static_cast<std::ptrdiff_t>(b) * outLen + o) * ld;
      for (int k = 0; k < taps; k++) {
        const int u = o * stride + k - pad;
        if (u < 0 || u >= inLen) continue;
        const int t = upsample ? u >> 1 : u;
        float* dst = sample + t * v.step;
        const float* src = row + k * ch;
        for (int c = 0; c < ch; c++) dst[c] += src[c];
      }
    }
  }
}

}  // namespace

const float* ConvNet::inputOf(int layer, const float* x) const {
  return layer == 0 ? x : out_[layer - 1].data();
}

void ConvNet::forwardRows(const float* x, int rows, int upTo) {
  for (int i = 0; i < upTo; i++) {
    Layer& l = layers_[i];
    const View v = viewBefore(i);
    const float* a = inputOf(i, x);
    if (l.conv && l.thin) {
      const int P = rows * l.outLen, PP = padded(P);
      im2colT(a, v, rows, l.outLen, l.K, l.stride, l.pad, l.upsample, cols_[i].data(), PP);
      k_->gemm(l.out, PP, l.in, l.wt.data(), l.inP, 1, cols_[i].data(), PP, thin_.data(), PP, nullptr, ACT_NONE, false);
      float* o = out_[i].data();
      for (int p = 0; p < P; p++) {
        float* row = o + static_cast<std::ptrdiff_t>(p) * l.outP;
        for (int j = 0; j < l.out; j++) {
          const float z = thin_[static_cast<std::size_t>(j) * PP + p] + l.b[j];
          row[j] = l.act == ACT_SIGMOID ? 1.0f / (1.0f + std::exp(-z)) : l.act == ACT_RELU ? std::max(z, 0.0f) : z;
        }
        std::fill(row + l.out, row + l.outP, 0.0f);
      }
      continue;
    }
    if (l.conv) {
      im2col(a, v, rows, l.outLen, l.K, l.stride, l.pad, l.upsample, cols_[i].data());
      k_->gemm(rows * l.outLen, l.outP, l.in, cols_[i].data(), l.in, 1, l.w.data(), l.outP, out_[i].data(), l.outP, l.b.data(), l.act, false);
      continue;
    }
    std::ptrdiff_t lda = v.sample;
    if (v.step != v.ch) {
      // The flatten of a convolution's output whose channels are padded: its values made contiguous.
      for (int b = 0; b < rows; b++)
        for (int t = 0; t < v.len; t++) std::copy_n(a + b * v.sample + t * v.step, v.ch, flat_.data() + static_cast<std::ptrdiff_t>(b) * l.in + t * v.ch);
      a = flat_.data();
      lda = l.in;
    }
    k_->gemm(rows, l.outP, l.in, a, lda, 1, l.w.data(), l.outP, out_[i].data(), l.outP, l.b.data(), l.act, false);
  }
}

void ConvNet::gatherOutput(int rows) {
  const Layer& l = layers_.back();
  const int d = inputSize(), dP = padded(d), C = spec_.channels;
  for (int b = 0; b < rows; b++) {
    float* dst = recon_.data() + static_cast<std::ptrdiff_t>(b) * dP;
    const float* src = out_.back().data() + b * l.view.sample;
    for (int t = 0; t < spec_.steps; t++) std::copy_n(src + t * l.outP, C, dst + t * C);
    std::fill(dst + d, dst + dP, 0.0f);
  }
}

void ConvNet::forward(const float* x, int n, int upTo, float* out) {
  ensureRows(std::min(n, chunk_));
  const int d = inputSize();
  const int w = outputWidth(upTo);
  for (int start = 0; start < n; start += chunk_) {
    const int rows = std::min(chunk_, n - start);
    forwardRows(x + static_cast<std::ptrdiff_t>(start) * d, rows, upTo);
    float* o = out + static_cast<std::ptrdiff_t>(start) * w;
    if (upTo == layerCount()) {
      gatherOutput(rows);
      for (int r = 0; r < rows; r++) std::copy_n(recon_.data() + static_cast<std::ptrdiff_t>(r) * padded(d), d, o + static_cast<std::ptrdiff_t>(r) * w);
      continue;
    }
    const View& v = layers_[upTo - 1].view;
    for (int r = 0; r < rows; r++)
      for (int t = 0; t < v.len; t++) std::copy_n(out_[upTo - 1].data() + r * v.sample + t * v.step, v.ch, o + static_cast<std::ptrdiff_t>(r) * w + t * v.ch);
  }
}

void ConvNet::score(const float* x, int n, int channels, int metric, float* perChannel, float* total, float* reconstruction, int steps) {
  ensureRows(std::min(n, chunk_));
  const int d = inputSize(), dP = padded(d);
  const int first = steps > 0 ? d - steps * channels : 0;
  for (int start = 0; start < n; start += chunk_) {
    const int rows = std::min(chunk_, n - start);
    const float* xs = x + static_cast<std::ptrdiff_t>(start) * d;
    forwardRows(xs, rows, layerCount());
    gatherOutput(rows);
    k_->score(rows, d, first, channels, metric, xs, recon_.data(), dP, perChannel + static_cast<std::ptrdiff_t>(start) * channels, total + start);
    if (reconstruction != nullptr) {
      for (int r = 0; r < rows; r++) std::copy_n(recon_.data() + static_cast<std::ptrdiff_t>(r) * dP, d, reconstruction + static_cast<std::ptrdiff_t>(start + r) * d);
    }
  }
}

void ConvNet::startTraining(float learningRate) {
  adam_.start(learningRate);
  allocateTraining();
  training_ = true;
}

void ConvNet::allocateTraining() {
  std::size_t widest = 0;
  for (Layer& l : layers_) {
    l.allocateTraining();
    widest = std::max(widest, l.b.size());
  }
  colTmp_.assign(widest, 0.0f);
}

// Adds the gradient of `rows` rows (part of a batch of totalRows) to every layer's gw and gb.
void ConvNet::backward(const float* x, const float* t, int rows, int totalRows, int loss, double* lossSum) {
  const int n = layerCount();
  const int d = inputSize(), dP = padded(d), C = spec_.channels;
  forwardRows(x, rows, n);
  gatherOutput(rows);
  float* g = gradA_.data();
  float* gPrev = gradB_.data();
  // The loss gradient as rows of the window's width, then laid out as the last layer's output (steps x padded C).
  *lossSum += k_->lossGrad(rows, d, loss, recon_.data(), dP, t, 1.0f / (static_cast<float>(totalRows) * static_cast<float>(d)), dcols_.data());
  {
    const Layer& last = layers_.back();
    std::fill_n(g, static_cast<std::size_t>(rows) * last.view.sample, 0.0f);
    for (int b = 0; b < rows; b++)
      for (int s = 0; s < spec_.steps; s++) std::copy_n(dcols_.data() + static_cast<std::ptrdiff_t>(b) * dP + s * C, C, g + b * last.view.sample + s * last.outP);
  }
  for (int i = n - 1; i >= 0; i--) {
    Layer& l = layers_[i];
    const int P = rowsOf(l, rows);
    if (l.conv) {
      // dW += cols^T . dZ (a thin layer keeps cols^T itself)
      if (l.thin) k_->gemm(l.in, l.outP, P, cols_[i].data(), padded(P), 1, g, l.outP, l.gw.data(), l.outP, nullptr, ACT_NONE, true);
      else k_->gemm(l.in, l.outP, P, cols_[i].data(), 1, l.in, g, l.outP, l.gw.data(), l.outP, nullptr, ACT_NONE, true);
    } else {
      const View v = viewBefore(i);
      const bool compacted = v.step != v.ch;
      const float* a = compacted ? flat_.data() : inputOf(i, x);
      const std::ptrdiff_t lda = compacted ? l.in : v.sample;
      k_->gemm(l.in, l.outP, rows, a, 1, lda, g, l.outP, l.gw.data(), l.outP, nullptr, ACT_NONE, true);
    }
    k_->colSum(P, l.outP, g, l.outP, colTmp_.data());
    for (int j = 0; j < l.outP; j++) l.gb[j] += colTmp_[j];
    if (i == 0) break;
    // The gradient w.r.t. the previous layer's output, dZ . W^T, laid out as that output, then through its relu.
    const Layer& prev = layers_[i - 1];
    const View& pv = prev.view;
    k_->gemm(P, l.inP, l.out, g, l.outP, 1, l.wt.data(), l.inP, dcols_.data(), l.inP, nullptr, ACT_NONE, false);
    std::fill_n(gPrev, static_cast<std::size_t>(rowsOf(prev, rows)) * prev.outP, 0.0f);
    if (l.conv) {
      col2im(dcols_.data(), l.inP, rows, l.outLen, l.K, l.stride, l.pad, l.upsample, pv, gPrev);
    } else {
      for (int b = 0; b < rows; b++)
        for (int s = 0; s < pv.len; s++) std::copy_n(dcols_.data() + static_cast<std::ptrdiff_t>(b) * l.inP + s * pv.ch, pv.ch, gPrev + b * pv.sample + s * pv.step);
    }
    k_->reluMask(rowsOf(prev, rows), prev.outP, gPrev, prev.outP, out_[i - 1].data(), prev.outP);
    std::swap(g, gPrev);
  }
}

void ConvNet::trainBatch(const float* x, const float* t, int rows, int loss, double* lossSum) {
  for (Layer& l : layers_) {
    std::fill(l.gw.begin(), l.gw.end(), 0.0f);
    std::fill(l.gb.begin(), l.gb.end(), 0.0f);
  }
  const int d = inputSize();
  for (int start = 0; start < rows; start += chunk_) {
    const int part = std::min(chunk_, rows - start);
    backward(x + static_cast<std::ptrdiff_t>(start) * d, t + static_cast<std::ptrdiff_t>(start) * d, part, rows, loss, lossSum);
  }
}

double ConvNet::trainEpoch(const float* noisy, const float* clean, int n, int batch, int loss) {
  if (!training_) startTraining(adam_.learningRate());
  ensureRows(std::min(n, chunk_));
  const int d = inputSize();
  double sum = 0;
  for (int start = 0; start < n; start += batch) {
    const int rows = std::min(batch, n - start);
    trainBatch(noisy + static_cast<std::ptrdiff_t>(start) * d, clean + static_cast<std::ptrdiff_t>(start) * d, rows, loss, &sum);
    adam_.step(*k_, layers_);
  }
  return sum / d / n;
}

double ConvNet::gradient(const float* x, const float* t, int rows, int loss) {
  if (!training_) allocateTraining();
  ensureRows(std::min(rows, chunk_));
  double sum = 0;
  trainBatch(x, t, rows, loss, &sum);
  return sum / inputSize() / rows;
}

void ConvNet::getGradient(int layer, float* kernel, float* bias) const { layers_.at(layer).getGradient(kernel, bias); }

double ConvNet::evaluate(const float* x, int n, int loss) {
  ensureRows(std::min(n, chunk_));
  const int d = inputSize();
  double sum = 0;
  for (int start = 0; start < n; start += chunk_) {
    const int rows = std::min(chunk_, n - start);
    const float* xs = x + static_cast<std::ptrdiff_t>(start) * d;
    forwardRows(xs, rows, layerCount());
    gatherOutput(rows);
    sum += k_->lossSum(rows, d, loss, recon_.data(), padded(d), xs);
  }
  return sum / d / n;
}

}  // namespace anomalyd
