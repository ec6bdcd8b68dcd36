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
#include <vector>

#include "engine/model/call_map.h"
#include "engine/model/mixed_precision.h"
#include "engine/model/model_config.h"

namespace bert {

struct DeviceSpec {
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat;
  // Parses "cpu" | "cuda" | "cuda:N" and "float32" | "float16" | "bfloat16"; checks that the device
  // exists (kDeviceUnavailable), that float16 is asked for on CUDA only, and bfloat16 on CUDA or on a
  // CPU with native bf16 instructions (kInvalidArgument: without them bf16 runs slower than fp32;
  // BERT_SERVE_ALLOW_SLOW_BF16=1 allows it anyway, for accuracy measurements).
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

  // forward with the batch's tensors in the places its parameter names say (input_ids,
  // attention_mask, token_type_ids; unnamed ones in that order); the answer element of its output
  // (answer_key: a tensor, a tuple's first element, a dict's logits / last_hidden_state). Throws
  // kModelInvalid when that is not a tensor.
  torch::Tensor forward(const PaddedBatch& batch);
  // forward's whole output, for a head that answers from more than one element (question answering:
  // transformers' (start_logits, end_logits) tuple).
  c10::IValue forward_value(const PaddedBatch& batch);
  // What forward is called with for `batch`, in its parameter order (for submodules called with
  // the same values, see call_map.h).
  std::vector<c10::IValue> forward_args(const PaddedBatch& batch) const;
  // The element of forward's output the engine answers from; throws kModelInvalid naming the output.
  torch::Tensor answer_of(const c10::IValue& out) const;

  // A method of the module (or of a submodule, "bert.forward"), when the file has it.
  std::optional<torch::jit::Method> find_method(const std::string& dotted) const;
  // Tensor arguments of a method, `self` excluded.
  static int arity(const torch::jit::Method& m);

  // The loaded module, for heads that look at its graph or attributes (read only).
  const torch::jit::Module& module() const { return module_; }
  const DeviceSpec& spec() const { return spec_; }
  const ModelConfig& config() const { return config_; }
  // 3 when forward takes token_type_ids, else 2.
  int forward_inputs() const { return forward_inputs_; }
  // forward's parameters as the engine fills them: "forward(attention_mask, input_ids)".
  std::string signature() const;
  const std::string& path() const { return path_; }
  // The model directory's name, which error messages name the model by.
  const std::string& name() const { return name_; }
  // How the linear layers run, in words (graph_opt.h), for the startup log and /info.
  const std::string& linear_kernel() const { return linear_kernel_; }
  // The load-time rewriting (graph_opt.h) is checked like any faster path: the first load-time probe
  // (probe_forward, probe.h) runs the module as the file had it too, which is kept until then
  // sharing the weights, and settles it: the rewritten module stays when `diff` is empty, else the
  // file's is served and the log and /info say why. Either way the file's copy is released.
  bool rewrite_unsettled() const { return as_loaded_.has_value(); }
  torch::Tensor forward_as_loaded(const PaddedBatch& batch);
  void settle_rewrite(const std::string& diff);
  // What runs in which precision, in words (mixed_precision.h for bf16), for the startup log and /info.
  const std::string& precision() const { return precision_; }
  // Appended to "forward failed" messages: what to do when a dtype conversion is the likely cause.
  std::string failure_hint() const;

 private:
  void map_forward_parameters(const torch::jit::Method& forward);
  HeadParts head_parts() const;

  std::string path_, name_;
  ModelConfig config_;
  DeviceSpec spec_;
  torch::jit::Module module_;
  // One entry per forward parameter: the input it takes, or none (a parameter with a default value,
  // passed as that default).
  std::vector<std::optional<InputRole>> roles_;
  std::vector<c10::IValue> defaults_;
  std::vector<std::string> params_;
  int forward_inputs_ = 2;
  std::string linear_kernel_ = "libtorch linear layers";
  std::string precision_;
  std::optional<torch::jit::Module> as_loaded_;  // until settle_rewrite: the graphs as the file had them
};

// True when this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16, from /proc/cpuinfo).
bool cpu_has_native_bf16();

// "[1, 4, 30522]": for error messages.
std::string shape_str(const torch::Tensor& t);

}  // namespace bert
