#include "engine/model/model.h"

#include <sys/stat.h>

#include <ATen/Context.h>
#include <torch/cuda.h>

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/errors.h"
#include "engine/log.h"
#include "engine/model/graph_opt.h"
#include "engine/model/mixed_precision.h"

namespace bert {
namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// An int8 model's packed weights are unpacked by the quantized engine active when it is loaded: it must
// be the one the exporter packed them for.
void select_quantized_engine(const std::string& name, const std::string& path, const DeviceSpec& spec) {
  if (spec.device.is_cuda())
    throw EngineError(ErrorCode::kModelInvalid,
                      path + ": an int8 (dynamically quantized) model runs on cpu only; export float weights for cuda");
  at::QEngine want;
  if (name == "onednn")
    want = at::QEngine::ONEDNN;
  else if (name == "fbgemm")
    want = at::QEngine::FBGEMM;
  else if (name == "qnnpack")
    want = at::QEngine::QNNPACK;
  else if (name == "x86")
    want = at::QEngine::X86;
  else
    throw EngineError(ErrorCode::kModelInvalid, path + ": unknown quantized engine \"" + name + "\" in config.json's bert_serve block");
  std::string have;
  for (at::QEngine e : at::globalContext().supportedQEngines()) {
    if (e == want) {
      at::globalContext().setQEngine(want);
      return;
    }
    if (e != at::QEngine::NoQEngine) have += (have.empty() ? "" : ", ") + c10::toString(e);
  }
  throw EngineError(ErrorCode::kModelInvalid,
                    path + ": the model was quantized for the " + name +
                        " engine, which this libtorch lacks (it has: " + (have.empty() ? std::string("none") : have) +
                        "); re-export it with scripts/export_hf.py --quantize int8 on this machine");
}

// A plain torch.jit.trace bakes the dtype it was traced in into its graphs (`.to(torch.float32)` of
// the attention mask); with weights in another dtype that mask then meets activations of another
// type and the forward fails. Such casts are retargeted from the file's dtype to the served one in
// every method's graph, and, for a half type, the mask's fill value torch.finfo(torch.float32).min
// becomes the dtype's own lowest finite value: cast to bf16 it would be -inf, and 0 x -inf is NaN at
// every attended position.
void retarget_float_casts(torch::jit::Block* block, torch::jit::Graph& graph, c10::ScalarType from, c10::ScalarType to, int& changed) {
  const double lowest = to == c10::ScalarType::Half ? -65504.0 : to == c10::ScalarType::BFloat16 ? -3.3895313892515355e38 : -HUGE_VAL;
  for (torch::jit::Node* n : block->nodes()) {
    for (torch::jit::Block* b : n->blocks()) retarget_float_casts(b, graph, from, to, changed);
    if (n->kind() == c10::prim::Constant && n->hasAttribute(c10::attr::value)) {
      // A trace bakes finfo(float32).min as a float or as a 0-dim float32 tensor constant.
      const auto kind = n->kindOf(c10::attr::value);
      if (kind == torch::jit::AttributeKind::f) {
        const double v = n->f(c10::attr::value);
        if (std::isfinite(v) && v < lowest) {
          torch::jit::WithInsertPoint guard(n);
          n->output()->replaceAllUsesWith(graph.insertConstant(lowest));
          ++changed;
        }
      } else if (kind == torch::jit::AttributeKind::t) {
        const at::Tensor t = n->t(c10::attr::value);
        if (t.dim() == 0 && t.is_floating_point()) {
          const double v = t.item<double>();
          if (std::isfinite(v) && v < lowest) {
            torch::jit::WithInsertPoint guard(n);
            n->output()->replaceAllUsesWith(graph.insertConstant(at::scalar_tensor(lowest, t.options())));
            ++changed;
          }
        }
      }
      continue;
    }
    if (n->kind() != c10::Symbol::fromQualString("aten::to")) continue;
    for (size_t i = 1; i < n->inputs().size(); ++i) {
      torch::jit::Value* v = n->input(i);
      if (v->type()->kind() != c10::TypeKind::IntType) continue;  // the dtype argument (memory formats are 0-3)
      auto c = torch::jit::toIValue(v);
      if (!c || !c->isInt() || c->toInt() != static_cast<int64_t>(from)) continue;
      torch::jit::WithInsertPoint guard(n);
      n->replaceInput(i, graph.insertConstant(static_cast<int64_t>(to)));
      ++changed;
    }
  }
}

int retarget_float_casts(torch::jit::Module& module, c10::ScalarType from, c10::ScalarType to) {
  int changed = 0;
  for (auto m : module.modules()) {
    for (const auto& method : m.get_methods()) {
      auto graph = method.graph();
      retarget_float_casts(graph->block(), *graph, from, to, changed);
    }
  }
  return changed;
}

}  // namespace

bool cpu_has_native_bf16() {
  static const bool has = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
    }
    return false;
  }();
  return has;
}

std::string Model::failure_hint() const {
  if (spec_.dtype == torch::kFloat) return "";
  return " (in " + spec_.dtype_name() +
         "; if this is a plain torch.jit.trace of a float32 model, re-export it with "
         "scripts/export_hf.py --dtype " +
         spec_.dtype_name() + ")";
}

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

DeviceSpec DeviceSpec::parse(const std::string& device, const std::string& dtype) {
  DeviceSpec s;
  if (dtype == "float32")
    s.dtype = torch::kFloat;
  else if (dtype == "float16")
    s.dtype = torch::kHalf;
  else if (dtype == "bfloat16")
    s.dtype = torch::kBFloat16;
  else
    throw EngineError(ErrorCode::kInvalidArgument, "dtype \"" + dtype + "\": expected float32, float16 or bfloat16");

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
      throw EngineError(ErrorCode::kDeviceUnavailable,
                        "device \"" + device + "\": only " + std::to_string(count) + " CUDA device(s) visible");
    s.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  } else {
    throw EngineError(ErrorCode::kInvalidArgument, "device \"" + device + "\": expected cpu, cuda or cuda:N");
  }
  if (s.dtype == torch::kHalf && !s.device.is_cuda())
    throw EngineError(ErrorCode::kInvalidArgument, "dtype float16 needs a CUDA device; use float32 or bfloat16 on cpu");
  // BERT_SERVE_ALLOW_SLOW_BF16=1 lets bf16 run anyway, slowly, for measuring its accuracy on such a
  // CPU (bench/accuracy.js): the same graphs and weights, computed without the bf16 instructions.
  const char* slow = std::getenv("BERT_SERVE_ALLOW_SLOW_BF16");
  const bool allow_slow = slow != nullptr && std::string(slow) == "1";
  if (s.dtype == torch::kBFloat16 && !s.device.is_cuda() && !cpu_has_native_bf16() && !allow_slow)
    throw EngineError(ErrorCode::kInvalidArgument,
                      "dtype bfloat16 on cpu needs native bf16 instructions (AVX512-BF16 or AMX), which this CPU lacks: bf16 would run "
                      "slower than float32 here; use float32, or an int8 model (scripts/export_hf.py --quantize int8)");
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

Model::Model(const std::string& dir, const ModelConfig& config, DeviceSpec spec) : path_(dir + "/model.pt"), config_(config), spec_(spec) {
  {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    name_ = d.substr(d.find_last_of('/') == std::string::npos ? 0 : d.find_last_of('/') + 1);
  }
  if (!file_exists(path_))
    throw EngineError(ErrorCode::kModelNotFound, path_ + ": not found (expected a TorchScript file, see scripts/export_hf.py)");
  if (!config.quantized_engine.empty()) select_quantized_engine(config.quantized_engine, path_, spec_);
  try {
    module_ = torch::jit::load(path_, torch::Device(torch::kCPU));
  } catch (const std::exception&) {
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": not a TorchScript file (expected torch.jit.save of a scripted or traced module)");
  }
  module_.eval();
  auto forward = module_.find_method("forward");
  if (!forward) throw EngineError(ErrorCode::kModelInvalid, path_ + ": the module has no forward method");
  map_forward_parameters(*forward);
  // The dtype the file's weights are stored in (a module traced and then saved with .half() or
  // .to(torch.bfloat16)): converted to the served dtype, with the graphs' casts to follow.
  c10::ScalarType stored = torch::kFloat;
  for (const auto& t : module_.parameters()) {
    if (t.is_floating_point()) {
      stored = t.scalar_type();
      break;
    }
  }
  // In bf16, what decides the answer stays float32 (mixed_precision.h): chosen before the conversion.
  const bool bf16 = spec_.dtype == torch::kBFloat16 && config.quantized_engine.empty();
  const bool mixed = bf16 && mixed_bf16_enabled();
  const Float32Plan keep = mixed ? plan_float32(module_, head_parts()) : Float32Plan{};
  try {
    module_.to(spec_.device);
    // Only floating-point state changes dtype: integer buffers (position_ids) must stay int64, which
    // Module::to(device, dtype) would not respect.
    if (spec_.dtype != stored) {
      for (auto t : module_.parameters())
        if (t.is_floating_point()) t.set_data(t.to(keep.keeps(t) ? torch::kFloat : spec_.dtype));
      for (auto t : module_.buffers())
        if (t.is_floating_point()) t.set_data(t.to(keep.keeps(t) ? torch::kFloat : spec_.dtype));
      if (stored != torch::kFloat)
        log_event(LogLevel::kInfo, "weights converted to the served dtype",
                  {{"model", path_}, {"stored", c10::toString(stored)}, {"dtype", spec_.dtype_name()}});
    }
    // A trace made in float32 (the usual case, also for weights saved in a half type afterwards) and
    // one made in the stored dtype: both kinds of cast follow the served dtype.
    int n = 0;
    if (spec_.dtype != torch::kFloat) n += retarget_float_casts(module_, torch::kFloat, spec_.dtype);
    if (stored != torch::kFloat && stored != spec_.dtype) n += retarget_float_casts(module_, stored, spec_.dtype);
    if (n)
      log_event(LogLevel::kInfo, "casts and fill values in the traced graph retargeted to the served dtype",
                {{"model", path_}, {"casts", n}, {"dtype", spec_.dtype_name()}});
  } catch (const std::exception& e) {
    throw EngineError(ErrorCode::kModelInvalid, path_ + ": could not move the module to " + spec_.device_name() + "/" + spec_.dtype_name());
  }
  if (mixed) {
    precision_ = describe_mixed_precision(keep, insert_float32_casts(module_));
    log_event(LogLevel::kInfo, "bfloat16 with float32 LayerNorms, residual sums and head", {{"model", path_}, {"precision", precision_}});
  } else if (bf16) {
    precision_ = "bfloat16 throughout (BERT_SERVE_MIXED_BF16=0)";
  } else if (!config.quantized_engine.empty()) {
    precision_ = "int8 linear layers as config.json's bert_serve block lists them (dynamic quantization), float32 elsewhere";
  } else {
    precision_ = spec_.dtype_name();
  }
  // Load-time graph rewriting (graph_opt.h): float32 linear layers on the CPU with packed weights,
  // and a mixed bf16 model's with BERT_SERVE_PACKED_BF16=1 on AVX-512 BF16 (else libtorch's bf16 linear).
  // clone(inplace): new types and graphs, the same weight tensors (nothing copied), so the first
  // probe can compare the rewritten module with the file's (settle_rewrite).
  const bool packable = spec_.dtype == torch::kFloat || (mixed && packed_bf16_enabled());
  if (spec_.device.is_cpu() && packable && packed_linear_enabled()) {
    as_loaded_ = module_.clone(/*inplace=*/true);
    const GraphOptReport report = pack_linear_layers(module_);
    if (report.linear_layers > 0)
      linear_kernel_ = report.describe();
    else
      as_loaded_.reset();
  }
}

// An embedding model's answer is the encoder's own output: no head.
HeadParts Model::head_parts() const { return config_.task == Task::kEmbeddings ? HeadParts{} : find_head_parts(module_); }

torch::Tensor Model::forward_as_loaded(const PaddedBatch& batch) {
  if (!as_loaded_) return forward(batch);
  return answer_of(as_loaded_->forward(forward_args(batch)));
}

void Model::settle_rewrite(const std::string& diff) {
  if (!as_loaded_) return;
  if (diff.empty()) {
    linear_kernel_ += ", checked against libtorch's on the load-time probe";
  } else {
    log_event(LogLevel::kWarn, "the packed linear layers do not reproduce libtorch's on the load-time probe; not used",
              {{"model", path_}, {"difference", diff}});
    module_ = *as_loaded_;
    linear_kernel_ = "libtorch linear layers (the packed ones did not reproduce them on the load-time probe)";
  }
  as_loaded_.reset();  // the rewritten module alone holds the packed weights; the replaced float32 ones go
}

// Each forward parameter takes the input its name says, whatever its position (a trace names them
// after the traced function's parameters); parameters with names that say nothing take the inputs
// not yet taken, in the usual order (input_ids, attention_mask, token_type_ids); parameters with a
// default value and no telling name keep their default. A misread that slips through (two unnamed
// inputs in an unusual order) is caught by the load-time probes (probe.h), which refuse the model.
void Model::map_forward_parameters(const torch::jit::Method& forward) {
  const auto& args = forward.function().getSchema().arguments();
  const size_t n = args.size() - 1;  // `self` excluded
  roles_.assign(n, std::nullopt);
  defaults_.assign(n, c10::IValue());
  params_.clear();
  bool taken[3] = {false, false, false};
  std::string names;
  for (size_t i = 0; i < n; ++i) {
    params_.push_back(args[i + 1].name());
    names += (i ? ", " : "") + args[i + 1].name();
  }
  auto refuse = [&](const std::string& why) {
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": forward(" + names + ") " + why +
                          "; expected forward(input_ids, attention_mask[, token_type_ids]) (parameters with these "
                          "names are matched by name, in any order)");
  };
  for (size_t i = 0; i < n; ++i) {
    auto r = role_of_name(params_[i]);
    if (!r) continue;
    if (taken[static_cast<int>(*r)]) refuse("has two parameters that read as " + std::string(role_name(*r)));
    roles_[i] = r;
    taken[static_cast<int>(*r)] = true;
  }
  size_t required = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!args[i + 1].default_value()) ++required;
    if (roles_[i]) continue;
    if (args[i + 1].default_value()) {
      defaults_[i] = *args[i + 1].default_value();
      continue;
    }
    int next = 0;
    while (next < 3 && taken[next]) ++next;
    if (next == 3) refuse("takes " + std::to_string(required) + "+ input(s)");
    roles_[i] = static_cast<InputRole>(next);
    taken[next] = true;
  }
  if (!taken[static_cast<int>(InputRole::kInputIds)] || !taken[static_cast<int>(InputRole::kAttentionMask)])
    refuse("takes " + std::to_string(required) + " input(s)");
  forward_inputs_ = taken[static_cast<int>(InputRole::kTokenTypeIds)] ? 3 : 2;
}

std::string Model::signature() const {
  std::string out = "forward(";
  for (size_t i = 0; i < params_.size(); ++i) {
    out += (i ? ", " : "") + params_[i];
    if (!roles_[i])
      out += "=default";
    else if (params_[i] != role_name(*roles_[i]))
      out += std::string(" as ") + role_name(*roles_[i]);
  }
  return out + ")";
}

int Model::arity(const torch::jit::Method& m) {
  return static_cast<int>(m.function().getSchema().arguments().size()) - 1;  // `self` excluded
}

std::optional<torch::jit::Method> Model::find_method(const std::string& dotted) const {
  torch::jit::Module m = module_;
  size_t at = 0;
  for (;;) {
    const size_t dot = dotted.find('.', at);
    if (dot == std::string::npos) {
      auto method = m.find_method(dotted.substr(at));
      if (!method) return std::nullopt;
      return *method;
    }
    auto sub = m.attr(dotted.substr(at, dot - at), c10::IValue());
    if (!sub.isModule()) return std::nullopt;
    m = sub.toModule();
    at = dot + 1;
  }
}

std::vector<c10::IValue> Model::forward_args(const PaddedBatch& b) const {
  std::vector<c10::IValue> out;
  out.reserve(roles_.size());
  for (size_t i = 0; i < roles_.size(); ++i) {
    if (!roles_[i]) {
      out.push_back(defaults_[i]);
      continue;
    }
    switch (*roles_[i]) {
      case InputRole::kInputIds: out.emplace_back(b.input_ids); break;
      case InputRole::kAttentionMask: out.emplace_back(b.attention_mask); break;
      case InputRole::kTokenTypeIds: out.emplace_back(b.token_type_ids); break;
    }
  }
  return out;
}

torch::Tensor Model::answer_of(const c10::IValue& value) const {
  c10::IValue out = value;
  // Hugging Face's torchscript=True export returns a tuple whose first element is the output; a
  // trace with strict=False of a ModelOutput returns a dict.
  if (out.isTuple()) {
    const auto& elems = out.toTupleRef().elements();
    if (elems.empty()) throw EngineError(ErrorCode::kModelInvalid, path_ + ": forward returned an empty tuple");
    out = elems[0];
  } else if (out.isGenericDict()) {
    const auto dict = out.toGenericDict();
    std::vector<std::string> keys;
    for (const auto& e : dict) keys.push_back(e.key().isString() ? e.key().toStringRef() : "");
    const std::string key = answer_key(keys);
    std::string listed;
    for (const auto& k : keys) listed += (listed.empty() ? "" : ", ") + k;
    if (key.empty())
      throw EngineError(ErrorCode::kModelInvalid, path_ + ": forward returned a dict with keys " + listed +
                                                      "; expected one with \"logits\" or \"last_hidden_state\" (or a single entry)");
    out = dict.at(c10::IValue(key));
  }
  if (!out.isTensor())
    throw EngineError(ErrorCode::kModelInvalid,
                      path_ + ": forward returned " + out.tagKind() + "; expected a tensor (or a tuple starting with one)");
  return out.toTensor();
}

c10::IValue Model::forward_value(const PaddedBatch& b) { return module_.get_method("forward")(forward_args(b)); }

torch::Tensor Model::forward(const PaddedBatch& b) { return answer_of(forward_value(b)); }

}  // namespace bert
