// A loaded TorchScript BERT on one device, with its forward signature checked. What its output must
// look like depends on the task, so that is checked by the task head (TaskHead::bind).
//
// Threading: after construction the module is only read; forward may run from several worker threads
// at once (TorchScript modules allow concurrent calls that do not write). Callers hold
// c10::InferenceMode and set their own CUDA stream.
#pragma once
#include <torch/script.h>

#include <optional>
#include <string>

#include "engine/model/model_config.h"

namespace bert {

struct DeviceSpec {
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat;
  // Parses "cpu" | "cuda" | "cuda:N" and "float32" | "float16" | "bfloat16"; checks that the device
  // exists (kDeviceUnavailable), that float16 is asked for on CUDA only, and bfloat16 on CUDA or on a
  // CPU with native bf16 instructions (kInvalidArgument: without them bf16 runs slower than fp32).
  static DeviceSpec parse(const std::string& device, const std::string& dtype);
  std::string device_name() const;
  std::string dtype_name() const;
};

// A batch padded to its longest request, on the model's device.
struct PaddedBatch {
  torch::Tensor input_ids;       // int64 [n, seq]
  torch::Tensor attention_mask;  // int64 [n, seq]
  torch::Tensor token_type_ids;  // int64 [n, seq]; 1 on the second sequence of pairs
  int64_t seq_len = 0;
};

class Model {
 public:
  // Loads dir/model.pt onto `spec`. Throws EngineError naming the file and what was expected:
  // kModelNotFound (no model.pt), kModelInvalid (not TorchScript, forward signature).
  Model(const std::string& dir, const ModelConfig& config, DeviceSpec spec);

  // forward(input_ids, attention_mask[, token_type_ids]); a tuple output (Hugging Face's
  // torchscript=True) gives its first element. Throws kModelInvalid when that is not a tensor.
  torch::Tensor forward(const PaddedBatch& batch);
  // The same for a submodule or method taking the model's inputs (e.g. the traced `bert` encoder).
  torch::Tensor call(const torch::jit::Method& method, const PaddedBatch& batch, int inputs);

  // A method of the module (or of a submodule, "bert.forward"), when the file has it.
  std::optional<torch::jit::Method> find_method(const std::string& dotted) const;
  // Tensor arguments of a method, `self` excluded.
  static int arity(const torch::jit::Method& m);

  // The loaded module, for heads that look at its graph or attributes (read only).
  const torch::jit::Module& module() const { return module_; }
  const DeviceSpec& spec() const { return spec_; }
  const ModelConfig& config() const { return config_; }
  int forward_inputs() const { return forward_inputs_; }
  const std::string& path() const { return path_; }
  // Appended to "forward failed" messages: what to do when a dtype conversion is the likely cause.
  std::string failure_hint() const;

 private:
  std::string path_;
  ModelConfig config_;
  DeviceSpec spec_;
  torch::jit::Module module_;
  int forward_inputs_ = 2;  // 2: (input_ids, attention_mask); 3: + token_type_ids
};

// True when this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16, from /proc/cpuinfo).
bool cpu_has_native_bf16();

// "[1, 4, 30522]": for error messages.
std::string shape_str(const torch::Tensor& t);
// A [n, seq] probe batch of token id 1 (all attended), for heads' load-time checks.
PaddedBatch probe_batch(const Model& model, int64_t n, int64_t seq);

}  // namespace bert
