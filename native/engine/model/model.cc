#include "engine/model/model.h"

#include <sys/stat.h>

#include <torch/cuda.h>

#include <cstdio>
#include <sstream>

#include "engine/errors.h"

namespace bert {
namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

}  // namespace

DeviceSpec DeviceSpec::parse(const std::string& device, const std::string& dtype) {
  DeviceSpec s;
  if (dtype == "float32") s.dtype = torch::kFloat;
  else if (dtype == "float16") s.dtype = torch::kHalf;
  else if (dtype == "bfloat16") s.dtype = torch::kBFloat16;
  else throw EngineError(ErrorCode::kInvalidArgument, "dtype \"" + dtype + "\": expected float32, float16 or bfloat16");

  if (device == "cpu") {
    s.device = torch::Device(torch::kCPU);
  } else if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (device.size() > 5) {
      const std::string n = device.substr(5);
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 3)
        throw EngineError(ErrorCode::kInvalidArgument, "device \"" + device + "\": expected cpu, cuda or cuda:N");
      index = std::stoi(n);
    }
    if (!torch::cuda::is_available())
      throw EngineError(ErrorCode::kDeviceUnavailable,
                        "device \"" + device + "\": CUDA is not available (this libtorch has no CUDA, or no GPU is visible)");
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index >= count)
      throw EngineError(ErrorCode::kDeviceUnavailable, "device \"" + device + "\": only " + std::to_string(count) + " CUDA device(s) visible");
    s.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  } else {
    throw EngineError(ErrorCode::kInvalidArgument, "device \"" + device + "\": expected cpu, cuda or cuda:N");
  }
  if (s.dtype != torch::kFloat && !s.device.is_cuda())
    throw EngineError(ErrorCode::kInvalidArgument, "dtype " + dtype + " needs a CUDA device; use float32 on cpu");
  return s;
}

std::string DeviceSpec::device_name() const { return device.str(); }

std::string DeviceSpec::dtype_name() const {
  switch (dtype) {
    case torch::kHalf: return "float16";
    case torch::kBFloat16: return "bfloat16";
    default: return "float32";
  }
}

Model::Model(const std::string& dir, const ModelConfig& config, DeviceSpec spec)
    : path_(dir + "/model.pt"), config_(config), spec_(spec) {
  if (!file_exists(path_))
    throw EngineError(ErrorCode::kModelNotFound, path_ + ": not found (expected a TorchScript file, see scripts/export_hf.py)");
  try {
    module_ = torch::jit::load(path_, torch::Device(torch::kCPU));
  } catch (const std::exception&) {
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": not a TorchScript file (expected torch.jit.save of a scripted or traced module)");
  }
  module_.eval();
  auto forward = module_.find_method("forward");
  if (!forward) throw EngineError(ErrorCode::kModelInvalid, path_ + ": the module has no forward method");
  // Schema arguments include `self`.
  const auto& args = forward->function().getSchema().arguments();
  const int n = static_cast<int>(args.size()) - 1;
  if (n != 2 && n != 3) {
    std::string names;
    for (size_t i = 1; i < args.size(); ++i) names += (i > 1 ? ", " : "") + args[i].name();
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": forward(" + names + ") takes " + std::to_string(n) +
                          " input(s); expected forward(input_ids, attention_mask[, token_type_ids])");
  }
  forward_inputs_ = n;
  has_fill_mask_logits_ = module_.find_method("fill_mask_logits").has_value();
  try {
    module_.to(spec_.device);
    // Only floating-point state changes dtype: integer buffers (position_ids) must stay int64, which
    // Module::to(device, dtype) would not respect.
    if (spec_.dtype != torch::kFloat) {
      for (auto t : module_.parameters()) if (t.is_floating_point()) t.set_data(t.to(spec_.dtype));
      for (auto t : module_.buffers()) if (t.is_floating_point()) t.set_data(t.to(spec_.dtype));
    }
  } catch (const std::exception& e) {
    throw EngineError(ErrorCode::kModelInvalid, path_ + ": could not move the module to " + spec_.device_name() + "/" + spec_.dtype_name());
  }
  validate();
}

torch::Tensor Model::run_forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  std::vector<torch::jit::IValue> inputs{input_ids, attention_mask};
  if (forward_inputs_ == 3) inputs.emplace_back(torch::zeros_like(input_ids));
  torch::jit::IValue out = module_.forward(inputs);
  // Hugging Face's torchscript=True export returns a tuple whose first element is the logits.
  if (out.isTuple()) {
    const auto& elems = out.toTupleRef().elements();
    if (elems.empty()) throw EngineError(ErrorCode::kModelInvalid, path_ + ": forward returned an empty tuple; expected logits");
    out = elems[0];
  }
  if (!out.isTensor())
    throw EngineError(ErrorCode::kModelInvalid, path_ + ": forward returned " + out.tagKind() + "; expected a logits tensor (or a tuple starting with one)");
  return out.toTensor();
}

torch::Tensor Model::mlm_logits_at(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                   const torch::Tensor& flat_index) {
  if (has_fill_mask_logits_) {
    auto out = module_.get_method("fill_mask_logits")(
        {input_ids, attention_mask, torch::zeros_like(input_ids), flat_index});
    return out.toTensor().to(torch::kFloat);
  }
  torch::Tensor logits = run_forward(input_ids, attention_mask);
  return logits.reshape({-1, logits.size(-1)}).index_select(0, flat_index).to(torch::kFloat);
}

// One small forward at load: checks that the module runs on the device and that its output fits the
// task, so a wrong file is refused at load with a message rather than failing every request.
void Model::validate() {
  c10::InferenceMode guard;
  const int64_t seq = 4;
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(spec_.device);
  torch::Tensor ids = torch::full({1, seq}, 1, opts);
  torch::Tensor mask = torch::ones({1, seq}, opts);
  torch::Tensor logits;
  try {
    logits = run_forward(ids, mask);
  } catch (const EngineError&) {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[bert-serve] %s: validation forward failed: %s\n", path_.c_str(), e.what());
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": forward failed on a [1, 4] int64 input (expected forward(input_ids, attention_mask[, token_type_ids]) "
                              "with int64 [batch, seq] inputs)");
  }
  if (logits.dim() != 3 || logits.size(0) != 1 || logits.size(1) != seq || logits.size(2) != config_.vocab_size) {
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": forward returned " + shape_str(logits) + " for a [1, 4] input; a " + config_.architecture +
                          " must return logits [batch, seq, " + std::to_string(config_.vocab_size) + "] (vocab_size in config.json)");
  }
  if (has_fill_mask_logits_) {
    torch::Tensor rows = mlm_logits_at(ids, mask, torch::tensor({int64_t{1}}, opts));
    if (rows.dim() != 2 || rows.size(0) != 1 || rows.size(1) != config_.vocab_size)
      throw EngineError(ErrorCode::kModelInvalid, path_ + ": fill_mask_logits returned " + shape_str(rows) + "; expected [1, " +
                                                      std::to_string(config_.vocab_size) + "]");
  }
}

}  // namespace bert
