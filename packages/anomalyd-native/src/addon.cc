// Node-API binding: a network (Model: a dense Net or a ConvNet) behind an external handle, and functions that take typed arrays the caller owns, so
// a scoring call allocates nothing on either side. Plain node_api.h (ABI-stable, no npm build dependency).
#include <node_api.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "conv_net.h"
#include "kernels.h"
#include "model.h"
#include "net.h"

namespace {

using anomalyd::ConvNet;
using anomalyd::Model;
using anomalyd::Net;

struct Error {
  std::string message;
};

void check(napi_env env, napi_status status) {
  if (status == napi_ok) return;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  throw Error{info && info->error_message ? info->error_message : "Node-API call failed"};
}

// `want` arguments, of which the first `required` must be given (Node-API fills the rest with undefined).
std::vector<napi_value> args(napi_env env, napi_callback_info cb, std::size_t want, std::size_t required) {
  std::vector<napi_value> v(want);
  std::size_t n = want;
  check(env, napi_get_cb_info(env, cb, &n, v.data(), nullptr, nullptr));
  if (n < required) throw Error{"expected " + std::to_string(required) + " arguments"};
  return v;
}

std::vector<napi_value> args(napi_env env, napi_callback_info cb, std::size_t want) {
  return args(env, cb, want, want);
}

// An optional argument left out (or passed as undefined or null).
bool isAbsent(napi_env env, napi_value v) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  return t == napi_undefined || t == napi_null;
}

int toInt(napi_env env, napi_value v, const char* what) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  if (t != napi_number) throw Error{std::string(what) + " must be a number"};
  int32_t out;
  check(env, napi_get_value_int32(env, v, &out));
  return out;
}

double toDouble(napi_env env, napi_value v) {
  double out;
  check(env, napi_get_value_double(env, v, &out));
  return out;
}

// A Float32Array's data, checked to hold at least `need` values.
float* floats(napi_env env, napi_value v, std::size_t need, const char* what) {
  bool is = false;
  check(env, napi_is_typedarray(env, v, &is));
  if (!is) throw Error{std::string(what) + " must be a Float32Array"};
  napi_typedarray_type type;
  std::size_t length;
  void* data;
  check(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr));
  if (type != napi_float32_array) throw Error{std::string(what) + " must be a Float32Array"};
  if (length < need) throw Error{std::string(what) + " has " + std::to_string(length) + " values, needs " + std::to_string(need)};
  return static_cast<float*>(data);
}

std::vector<int> intArray(napi_env env, napi_value v, const char* what) {
  bool is = false;
  check(env, napi_is_array(env, v, &is));
  if (!is) throw Error{std::string(what) + " must be an array"};
  uint32_t n;
  check(env, napi_get_array_length(env, v, &n));
  std::vector<int> out(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    check(env, napi_get_element(env, v, i, &e));
    out[i] = toInt(env, e, what);
  }
  return out;
}

Model* netOf(napi_env env, napi_value v) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  if (t != napi_external) throw Error{"not a network handle"};
  void* p;
  check(env, napi_get_value_external(env, v, &p));
  return static_cast<Model*>(p);
}

napi_value number(napi_env env, double x) {
  napi_value v;
  check(env, napi_create_double(env, x, &v));
  return v;
}

napi_value string(napi_env env, const char* s) {
  napi_value v;
  check(env, napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v));
  return v;
}

std::string optionalString(napi_env env, napi_value v) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  if (t != napi_string) return "";
  char buf[32];
  std::size_t len;
  check(env, napi_get_value_string_utf8(env, v, buf, sizeof buf, &len));
  return std::string(buf, len);
}

// Wraps a body so C++ exceptions become JS errors (RangeError for bad arguments).
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const Error& e) {
    napi_throw_range_error(env, nullptr, e.message.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// kernels(name?) -> the name of the kernel set a new network would use ("avx512", "avx2", "generic"), or
// null when the named set does not run on this CPU.
napi_value Kernels(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    std::size_t n = 1;
    napi_value a[1];
    check(env, napi_get_cb_info(env, cb, &n, a, nullptr, nullptr));
    const std::string name = n >= 1 ? optionalString(env, a[0]) : "";
    const anomalyd::Kernels* k = anomalyd::pickKernels(name.c_str());
    napi_value out;
    if (k == nullptr) check(env, napi_get_null(env, &out));
    else out = string(env, k->name);
    return out;
  });
}

// A handle that deletes its network when the garbage collector frees it.
napi_value wrap(napi_env env, Model* net) {
  napi_value handle;
  napi_status s = napi_create_external(env, net, [](napi_env, void* p, void*) { delete static_cast<Model*>(p); }, nullptr, &handle);
  if (s != napi_ok) {
    delete net;
    check(env, s);
  }
  return handle;
}

const anomalyd::Kernels* kernelsArg(napi_env env, napi_value* a, std::size_t n, std::size_t at) {
  const std::string name = n > at ? optionalString(env, a[at]) : "";
  const anomalyd::Kernels* k = anomalyd::pickKernels(name.c_str());
  if (k == nullptr) throw Error{"kernel set '" + name + "' does not run on this CPU"};
  return k;
}

// create(sizes, activations, kernels?) -> handle of a dense chain. Weights start at zero (setParams loads them).
napi_value Create(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    std::size_t n = 3;
    napi_value a[3];
    check(env, napi_get_cb_info(env, cb, &n, a, nullptr, nullptr));
    if (n < 2) throw Error{"create(sizes, activations, kernels?)"};
    const anomalyd::Kernels* k = kernelsArg(env, a, n, 2);
    return wrap(env, new Net(intArray(env, a[0], "sizes"), intArray(env, a[1], "activations"), k));
  });
}

// createConv(steps, channels, filters, kernelSize, latent, kernels?) -> handle of a convolutional autoencoder
// (conv_net.h); its layers, in tfjs's weight order: each encoder convolution, the latent and decoder dense
// layers, each decoder convolution.
napi_value CreateConv(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    std::size_t n = 6;
    napi_value a[6];
    check(env, napi_get_cb_info(env, cb, &n, a, nullptr, nullptr));
    if (n < 5) throw Error{"createConv(steps, channels, filters, kernelSize, latent, kernels?)"};
    const anomalyd::Kernels* k = kernelsArg(env, a, n, 5);
    anomalyd::ConvSpec spec{toInt(env, a[0], "steps"), toInt(env, a[1], "channels"), toInt(env, a[3], "kernelSize"), toInt(env, a[4], "latent"), intArray(env, a[2], "filters")};
    return wrap(env, new ConvNet(spec, k));
  });
}

int layerArg(napi_env env, Model* net, napi_value v) {
  const int layer = toInt(env, v, "layer");
  if (layer < 0 || layer >= net->layerCount()) throw Error{"layer out of range"};
  return layer;
}

std::size_t rowsArg(napi_env env, napi_value v) {
  const int n = toInt(env, v, "n");
  if (n < 0) throw Error{"n must not be negative"};
  return static_cast<std::size_t>(n);
}

// setParams(net, layer, kernel, bias) / getParams(net, layer, kernelOut, biasOut)
napi_value SetParams(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 4);
    Model* net = netOf(env, a[0]);
    const int layer = layerArg(env, net, a[1]);
    const std::size_t in = net->inputsOf(layer), out = net->units(layer);
    net->setParams(layer, floats(env, a[2], in * out, "kernel"), floats(env, a[3], out, "bias"));
    return nullptr;
  });
}

napi_value GetParams(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 4);
    Model* net = netOf(env, a[0]);
    const int layer = layerArg(env, net, a[1]);
    const std::size_t in = net->inputsOf(layer), out = net->units(layer);
    net->getParams(layer, floats(env, a[2], in * out, "kernel"), floats(env, a[3], out, "bias"));
    return nullptr;
  });
}

// forward(net, x, n, upToLayers, out)
napi_value Forward(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 5);
    Model* net = netOf(env, a[0]);
    const std::size_t n = rowsArg(env, a[2]);
    const int upTo = toInt(env, a[3], "upTo");
    if (upTo < 1 || upTo > net->layerCount()) throw Error{"upTo out of range"};
    const float* x = floats(env, a[1], n * net->inputSize(), "x");
    float* out = floats(env, a[4], n * net->outputWidth(upTo), "out");
    net->forward(x, static_cast<int>(n), upTo, out);
    return nullptr;
  });
}

// score(net, x, n, channels, metric, perChannelOut, totalOut[, reconstructionOut[, steps]]): steps > 0 takes
// the errors over each window's newest `steps` time steps only (the scorer's score_steps), in the same pass.
napi_value Score(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 9, 7);
    Model* net = netOf(env, a[0]);
    const std::size_t n = rowsArg(env, a[2]);
    const int channels = toInt(env, a[3], "channels");
    const int metric = toInt(env, a[4], "metric");
    if (channels < 1 || net->inputSize() % channels != 0) throw Error{"window is not a whole number of channels"};
    if (metric < anomalyd::ERR_MSE || metric > anomalyd::ERR_BCE) throw Error{"unknown metric"};
    const float* x = floats(env, a[1], n * net->inputSize(), "x");
    float* reconstruction = isAbsent(env, a[7]) ? nullptr : floats(env, a[7], n * net->inputSize(), "reconstruction");
    const int steps = isAbsent(env, a[8]) ? 0 : toInt(env, a[8], "steps");
    if (steps < 0 || steps > net->inputSize() / channels) throw Error{"steps out of range"};
    net->score(x, static_cast<int>(n), channels, metric, floats(env, a[5], n * channels, "perChannel"), floats(env, a[6], n, "total"), reconstruction, steps);
    return nullptr;
  });
}

int lossArg(napi_env env, napi_value v) {
  const int loss = toInt(env, v, "loss");
  if (loss != anomalyd::LOSS_BCE && loss != anomalyd::LOSS_MSE) throw Error{"unknown loss"};
  return loss;
}

// startTraining(net, learningRate)
napi_value StartTraining(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 2);
    const double lr = toDouble(env, a[1]);
    if (!(lr > 0)) throw Error{"learning rate must be positive"};
    netOf(env, a[0])->startTraining(static_cast<float>(lr));
    return nullptr;
  });
}

// trainEpoch(net, noisy, clean, n, batch, loss) -> mean loss
napi_value TrainEpoch(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 6);
    Model* net = netOf(env, a[0]);
    const std::size_t n = rowsArg(env, a[3]);
    const int batch = toInt(env, a[4], "batch");
    if (batch < 1) throw Error{"batch must be positive"};
    const std::size_t values = n * net->inputSize();
    return number(env, net->trainEpoch(floats(env, a[1], values, "noisy"), floats(env, a[2], values, "clean"), static_cast<int>(n), batch, lossArg(env, a[5])));
  });
}

// evaluate(net, x, n, loss) -> mean loss
napi_value Evaluate(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 4);
    Model* net = netOf(env, a[0]);
    const std::size_t n = rowsArg(env, a[2]);
    return number(env, net->evaluate(floats(env, a[1], n * net->inputSize(), "x"), static_cast<int>(n), lossArg(env, a[3])));
  });
}

// gradient(net, x, t, n, loss, outs) -> mean loss; outs: kernel and bias gradient arrays of every layer
napi_value Gradient(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 6);
    Model* net = netOf(env, a[0]);
    const std::size_t n = rowsArg(env, a[3]);
    if (n == 0) throw Error{"n must be positive"};
    const std::size_t values = n * net->inputSize();
    const double loss = net->gradient(floats(env, a[1], values, "x"), floats(env, a[2], values, "t"), static_cast<int>(n), lossArg(env, a[4]));
    for (int layer = 0; layer < net->layerCount(); layer++) {
      napi_value kernel, bias;
      check(env, napi_get_element(env, a[5], 2 * layer, &kernel));
      check(env, napi_get_element(env, a[5], 2 * layer + 1, &bias));
      const std::size_t in = net->inputsOf(layer), out = net->units(layer);
      net->getGradient(layer, floats(env, kernel, in * out, "kernel gradient"), floats(env, bias, out, "bias gradient"));
    }
    return number(env, loss);
  });
}

// kernelsOf(net) -> the kernel set a network uses
napi_value KernelsOf(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, cb, 1);
    return string(env, netOf(env, a[0])->kernelName());
  });
}

}  // namespace

// The interface version the TypeScript side checks (model/nativeAddon.ts NATIVE_ABI), so a binary built from
// older sources is not used with arguments it would ignore. 2: score takes the newest steps to count.
constexpr int ADDON_ABI = 2;

NAPI_MODULE_INIT() {
  napi_value abi;
  napi_create_int32(env, ADDON_ABI, &abi);
  const napi_property_descriptor props[] = {
      {"abi", nullptr, nullptr, nullptr, nullptr, abi, napi_enumerable, nullptr},
      {"kernels", nullptr, Kernels, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"create", nullptr, Create, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"createConv", nullptr, CreateConv, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"kernelsOf", nullptr, KernelsOf, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setParams", nullptr, SetParams, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"getParams", nullptr, GetParams, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"forward", nullptr, Forward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"score", nullptr, Score, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"startTraining", nullptr, StartTraining, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"trainEpoch", nullptr, TrainEpoch, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"evaluate", nullptr, Evaluate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gradient", nullptr, Gradient, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
