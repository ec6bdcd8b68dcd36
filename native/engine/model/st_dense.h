// sentence-transformers' Dense module, which many embedding models put after pooling:
// y = activation(W x + b) on each pooled embedding, from its folder (modules.json's path, e.g.
// 2_Dense): config.json (in_features, out_features, bias, activation_function) and the weights
// linear.weight [out, in] and linear.bias [out] in model.safetensors or pytorch_model.bin.
//
// Threading: loaded once on the loading thread; apply() only reads and may run on several workers.
#pragma once
#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

namespace bert {

class StDense {
 public:
  enum class Activation { kTanh, kIdentity, kReLU, kSigmoid, kGELU };
  // Reads dir/folder. Throws EngineError kModelInvalid naming the file and what was expected (an
  // activation it does not compute, in_features other than `in_features`, missing weights).
  StDense(const std::string& dir, const std::string& folder, int64_t in_features);
  void to(const torch::Device& device);
  // x: float32 [n, in_features] -> [n, out_features].
  torch::Tensor apply(const torch::Tensor& x) const;
  int64_t out_features() const { return weight_.size(0); }
  const std::string& folder() const { return folder_; }

 private:
  std::string folder_;
  torch::Tensor weight_, bias_;  // float32
  Activation activation_ = Activation::kTanh;
};

// The tensors of a .safetensors file as float32 (F32, F16, BF16, F64 stored). Throws EngineError
// kModelInvalid naming the file when it is not one.
std::vector<std::pair<std::string, torch::Tensor>> read_safetensors(const std::string& path);

}  // namespace bert
