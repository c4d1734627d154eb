// What the addon's handles point at: a network it can score and train, whatever its layers (net.h: a chain of
// dense layers; conv_net.h: the convolutional autoencoder). Parameters are numbered as tfjs orders a model's
// weights (kernel, bias of each layer), each kernel inputsOf(layer) x units(layer), row-major.
#pragma once

namespace anomalyd {

class Model {
 public:
  virtual ~Model() = default;

  virtual int layerCount() const = 0;
  virtual int inputSize() const = 0;
  // Rows and columns of a layer's kernel (a convolution's rows are its taps x input channels).
  virtual int inputsOf(int layer) const = 0;
  virtual int units(int layer) const = 0;
  // Values per row that forward(..., upTo, ...) writes.
  virtual int outputWidth(int upTo) const = 0;
  virtual const char* kernelName() const = 0;

  virtual void setParams(int layer, const float* kernel, const float* bias) = 0;
  virtual void getParams(int layer, float* kernel, float* bias) const = 0;
  virtual void forward(const float* x, int n, int upTo, float* out) = 0;
  // Errors over the newest `steps` time steps of each window (0: all of it).
  virtual void score(const float* x, int n, int channels, int metric, float* perChannel, float* total, float* reconstruction, int steps) = 0;
  virtual void startTraining(float learningRate) = 0;
  virtual double trainEpoch(const float* noisy, const float* clean, int n, int batch, int loss) = 0;
  virtual double evaluate(const float* x, int n, int loss) = 0;
  virtual double gradient(const float* x, const float* t, int rows, int loss) = 0;
  virtual void getGradient(int layer, float* kernel, float* bias) const = 0;
};

}  // namespace anomalyd
