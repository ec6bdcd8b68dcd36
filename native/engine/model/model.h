// A loaded TorchScript BERT on one device, validated against its config and task.
//
// Threading: after load() the module is only read; forward may run from several worker threads at
// once (PITFALLS 16). Callers hold c10::InferenceMode and set their own CUDA stream.
#pragma once
#include <torch/script.h>

#include <string>

#include "engine/model/model_config.h"

namespace bert {

struct DeviceSpec {
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat;
  // Parses "cpu" | "cuda" | "cuda:N" and "float32" | "float16" | "bfloat16"; checks that the device
  // exists (kDeviceUnavailable) and that half types are asked for on CUDA only (kInvalidArgument).
  static DeviceSpec parse(const std::string& device, const std::string& dtype);
  std::string device_name() const;
  std::string dtype_name() const;
};

class Model {
 public:
  // Loads dir/model.pt onto `spec`. Throws EngineError naming the file and what was expected:
  // kModelNotFound (no model.pt), kModelInvalid (not TorchScript, forward signature, output shape).
  Model(const std::string& dir, const ModelConfig& config, DeviceSpec spec);

  // Masked-LM logits at the rows `flat_index` (int64 [m], batch_idx * seq_len + pos) of a padded
  // batch: float32 [m, vocab] on the model's device. Uses the exporter's fill_mask_logits method when
  // the file has one (the vocabulary projection then runs at mask rows only), else forward().
  torch::Tensor mlm_logits_at(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                              const torch::Tensor& flat_index);

  const DeviceSpec& spec() const { return spec_; }
  const ModelConfig& config() const { return config_; }
  bool has_masked_fast_path() const { return has_fill_mask_logits_; }
  int forward_inputs() const { return forward_inputs_; }
  const std::string& path() const { return path_; }

 private:
  torch::Tensor run_forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  void validate();

  std::string path_;
  ModelConfig config_;
  DeviceSpec spec_;
  torch::jit::Module module_;
  int forward_inputs_ = 2;  // 2: (input_ids, attention_mask); 3: + token_type_ids
  bool has_fill_mask_logits_ = false;
};

}  // namespace bert
