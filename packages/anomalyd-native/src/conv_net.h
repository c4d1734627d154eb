// The convolutional denoising autoencoder of src/model/convAutoencoder.ts, computed as tfjs-layers computes it:
//   encoder: per entry of `filters`, Conv1D(filters, kernel, stride 2, 'same', relu)
//   bottleneck: flatten -> dense latent (relu) -> dense deepest x filters (relu)
//   decoder: per encoder layer, deepest first, nearest upsampling x2 then Conv(kernel, stride 1, 'same'), relu,
//            the last one to `channels` with a sigmoid; the steps past the window's are cropped.
// Data is channels-last (values[t * channels + c]), as tfjs lays it out. A convolution is im2col (each output
// step's receptive field as a row: taps x input channels, zeros where it reaches into padding) followed by one
// GEMM with the dense kernels (kernels.h), transposed for an output of few channels (thin); the upsampling is folded into the decoder's im2col (step u reads
// input step u / 2) and the crop into the last layer's output length, so neither is materialised. Training is
// the same backpropagation and Adam as Net's: the filter gradient is cols^T . dZ, the input gradient dZ . W^T
// added back at the steps each column came from (col2im).
#pragma once
#include <cstddef>
#include <vector>

#include "kernels.h"
#include "layer_params.h"
#include "model.h"

namespace anomalyd {

struct ConvSpec {
  int steps, channels, kernel, latent;
  std::vector<int> filters;
};

class ConvNet : public Model {
 public:
  ConvNet(const ConvSpec& spec, const Kernels* kernels);

  int layerCount() const override { return static_cast<int>(layers_.size()); }
  int inputSize() const override { return spec_.steps * spec_.channels; }
  int inputsOf(int layer) const override { return layers_[layer].in; }
  int units(int layer) const override { return layers_[layer].out; }
  int outputWidth(int upTo) const override;
  const char* kernelName() const override { return k_->name; }

  void setParams(int layer, const float* kernel, const float* bias) override;
  void getParams(int layer, float* kernel, float* bias) const override;
  void forward(const float* x, int n, int upTo, float* out) override;
  void score(const float* x, int n, int channels, int metric, float* perChannel, float* total, float* reconstruction, int steps) override;
  void startTraining(float learningRate) override;
  double trainEpoch(const float* noisy, const float* clean, int n, int batch, int loss) override;
  double evaluate(const float* x, int n, int loss) override;
  double gradient(const float* x, const float* t, int rows, int loss) override;
  void getGradient(int layer, float* kernel, float* bias) const override;

 private:
  // Where a layer's output (or the input) keeps sample b, step t, channel c: b * sample + t * step + c.
  struct View {
    std::ptrdiff_t sample, step;
    int len, ch;
  };
  struct Layer : LayerParams {
    bool conv;
    // Convolutions: input steps and channels, output steps, taps, stride, padding before, and whether the input
    // is upsampled x2 first. in = taps x input channels, out = output channels; dense: in and out units.
    int inLen, inC, outLen, K, stride, pad;
    bool upsample;
    // A convolution to few channels (the reconstruction of a one-channel window): its GEMM would compute
    // padded(out) columns for `out`, so it runs transposed (out rows x positions, W^T . cols^T) instead.
    bool thin;
    int act;
    View view;  // of this layer's output
  };
  int rowsOf(const Layer& l, int rows) const { return l.conv ? rows * l.outLen : rows; }
  View inputView() const;
  View viewBefore(int layer) const;
  const float* inputOf(int layer, const float* x) const;
  void ensureRows(int rows);
  void forwardRows(const float* x, int rows, int upTo);
  // The sigmoid output as rows of the window's width (row stride padded(d)), zero past d.
  void gatherOutput(int rows);
  void backward(const float* x, const float* t, int rows, int totalRows, int loss, double* lossSum);
  void trainBatch(const float* x, const float* t, int rows, int loss, double* lossSum);
  void allocateTraining();

  ConvSpec spec_;
  const Kernels* k_;
  std::vector<Layer> layers_;
  int chunk_;                              // rows per pass, so the largest im2col matrix stays near the L2 size
  std::vector<std::vector<float>> out_;    // each layer's output for the rows in flight
  std::vector<std::vector<float>> cols_;   // each convolution's im2col matrix (rows x outLen) x in; thin: transposed
  std::vector<float> thin_;                // a thin convolution's output, out x padded(positions)
  std::vector<float> flat_, recon_, gradA_, gradB_, dcols_, colTmp_;
  int rowsAllocated_ = 0;
  Adam adam_;
  bool training_ = false;
};

}  // namespace anomalyd
