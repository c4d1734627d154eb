// A chain of dense layers (relu hidden layers, sigmoid output) with its own float32 weights, forward pass,
// reconstruction-error scoring, and minibatch training (backpropagation + Adam, as tfjs-layers computes it).
#pragma once
#include <cstddef>
#include <vector>

#include "kernels.h"
#include "layer_params.h"
#include "model.h"

namespace anomalyd {

class Net : public Model {
 public:
  // sizes: input width then each layer's units; acts: each layer's activation (Act).
  Net(const std::vector<int>& sizes, const std::vector<int>& acts, const Kernels* kernels);

  int layerCount() const override { return static_cast<int>(layers_.size()); }
  int inputSize() const override { return layers_.front().in; }
  int units(int layer) const override { return layers_[layer].out; }
  int inputsOf(int layer) const override { return layers_[layer].in; }
  int outputWidth(int upTo) const override { return layers_[upTo - 1].out; }
  const char* kernelName() const override { return k_->name; }

  // kernel: in x out row-major (tfjs's layout), bias: out.
  void setParams(int layer, const float* kernel, const float* bias) override;
  void getParams(int layer, float* kernel, float* bias) const override;

  // Runs the first `upTo` layers on n rows of x; writes n rows of units(upTo - 1) values to out.
  void forward(const float* x, int n, int upTo, float* out) override;
  // Per-channel error sums (n x channels) and mean error (n) of each row's reconstruction.
  void score(const float* x, int n, int channels, int metric, float* perChannel, float* total, float* reconstruction, int steps) override;

  // Fresh Adam state (tfjs: beta1 0.9, beta2 0.999, epsilon 1e-7).
  void startTraining(float learningRate) override;
  // One pass over n rows in minibatches of `batch`, inputs `noisy`, targets `clean`; returns the mean loss
  // per window (the figure tfjs's fit reports).
  double trainEpoch(const float* noisy, const float* clean, int n, int batch, int loss) override;
  // Mean loss per window of the clean reconstruction of x (tfjs's evaluate).
  double evaluate(const float* x, int n, int loss) override;
  // The gradient of the mean loss of one batch w.r.t. every layer's kernel and bias, without updating them
  // (tests compare it with tfjs's). Returns the mean loss per window.
  double gradient(const float* x, const float* t, int rows, int loss) override;
  void getGradient(int layer, float* kernel, float* bias) const override;

 private:
  struct Layer : LayerParams {
    int act;
  };
  void ensureRows(int rows);
  void forwardRows(const float* x, int rows, int upTo);
  void trainStep(const float* x, const float* t, int rows, int loss, double* lossSum);
  void backward(const float* x, const float* t, int rows, int loss, double* lossSum);
  void allocateTraining();

  const Kernels* k_;
  std::vector<Layer> layers_;
  std::vector<std::vector<float>> out_;  // each layer's output for the rows in flight (rows x outP)
  std::vector<float> gradA_, gradB_;      // gradient w.r.t. pre-activations, ping-pong
  int rowsAllocated_ = 0;
  Adam adam_;
  bool training_ = false;
};

}  // namespace anomalyd
