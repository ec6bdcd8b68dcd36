#include "engine/model/st_dense.h"

#include <sys/stat.h>
#include <torch/serialize.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "engine/errors.h"

namespace bert {
namespace {

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EngineError(ErrorCode::kModelInvalid, path + ": cannot be read");
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

StDense::Activation parse_activation(const std::string& name, const std::string& where) {
  static const std::pair<const char*, StDense::Activation> kKnown[] = {
      {"torch.nn.modules.activation.Tanh", StDense::Activation::kTanh},
      {"torch.nn.modules.linear.Identity", StDense::Activation::kIdentity},
      {"torch.nn.modules.activation.ReLU", StDense::Activation::kReLU},
      {"torch.nn.modules.activation.Sigmoid", StDense::Activation::kSigmoid},
      {"torch.nn.modules.activation.GELU", StDense::Activation::kGELU}};
  for (const auto& [known, a] : kKnown)
    if (name == known) return a;
  throw EngineError(ErrorCode::kModelInvalid, where + ": Dense activation \"" + name +
                                                  "\" is not computed by bert-serve (Tanh, Identity, ReLU, Sigmoid, GELU are); serving "
                                                  "without it would change the embeddings");
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> read_safetensors(const std::string& path) {
  const std::vector<char> data = read_all(path);
  auto bad = [&](const std::string& why) { return EngineError(ErrorCode::kModelInvalid, path + ": not a safetensors file (" + why + ")"); };
  if (data.size() < 8) throw bad("too short");
  uint64_t n = 0;
  std::memcpy(&n, data.data(), 8);  // little-endian hosts only (x86, ARM)
  if (n > data.size() - 8) throw bad("header length " + std::to_string(n));
  const nlohmann::json header = nlohmann::json::parse(data.begin() + 8, data.begin() + 8 + static_cast<std::ptrdiff_t>(n), nullptr, false);
  if (!header.is_object()) throw bad("the header is not a JSON object");
  const size_t base = 8 + n;
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      throw bad(name + ": incomplete");
    const std::string dt = info["dtype"].is_string() ? info["dtype"].get<std::string>() : "";
    c10::ScalarType type;
    if (dt == "F32")
      type = torch::kFloat;
    else if (dt == "F16")
      type = torch::kHalf;
    else if (dt == "BF16")
      type = torch::kBFloat16;
    else if (dt == "F64")
      type = torch::kDouble;
    else
      throw bad(name + ": dtype " + dt + " (expected F32, F16, BF16 or F64)");
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 32)) throw bad(name + ": shape");
      shape.push_back(d.get<int64_t>());
      numel *= shape.back();
    }
    const auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) throw bad(name + ": offsets");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    const uint64_t bytes = static_cast<uint64_t>(numel) * c10::elementSize(type);
    if (end < begin || end - begin != bytes || end > data.size() - base) throw bad(name + ": offsets do not fit its shape");
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
    if (bytes) std::memcpy(t.data_ptr(), data.data() + base + begin, bytes);
    out.emplace_back(name, t.to(torch::kFloat));
  }
  return out;
}

StDense::StDense(const std::string& dir, const std::string& folder, int64_t in_features) : folder_(folder) {
  const std::string where = dir + "/" + folder;
  const std::string config_path = where + "/config.json";
  std::ifstream in(config_path);
  if (!in)
    throw EngineError(ErrorCode::kModelInvalid, config_path + ": missing (a Dense module's folder holds config.json and its weights)");
  const nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
  if (!config.is_object()) throw EngineError(ErrorCode::kModelInvalid, config_path + ": not a JSON object");
  activation_ = parse_activation(config.value("activation_function", std::string("torch.nn.modules.activation.Tanh")), config_path);
  const int64_t in_f = config.value("in_features", int64_t{-1});
  if (in_f != in_features)
    throw EngineError(ErrorCode::kModelInvalid, config_path + ": in_features is " + std::to_string(in_f) +
                                                    " but the embeddings it follows have " + std::to_string(in_features) + " values");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::string weights = where + "/model.safetensors";
  if (is_file(weights)) {
    tensors = read_safetensors(weights);
  } else if (weights = where + "/pytorch_model.bin"; is_file(weights)) {
    c10::IValue v;
    try {
      v = torch::pickle_load(read_all(weights));
    } catch (const std::exception&) {
      throw EngineError(ErrorCode::kModelInvalid, weights + ": not a torch.save state dict");
    }
    if (!v.isGenericDict()) throw EngineError(ErrorCode::kModelInvalid, weights + ": not a state dict (names -> tensors)");
    for (const auto& e : v.toGenericDict())
      if (e.key().isString() && e.value().isTensor()) tensors.emplace_back(e.key().toStringRef(), e.value().toTensor().to(torch::kFloat));
  } else {
    throw EngineError(ErrorCode::kModelInvalid, where + ": no Dense weights (model.safetensors or pytorch_model.bin)");
  }
  for (auto& [name, t] : tensors) {
    if (name == "linear.weight")
      weight_ = t;
    else if (name == "linear.bias")
      bias_ = t;
  }
  if (!weight_.defined() || weight_.dim() != 2 || weight_.size(1) != in_features)
    throw EngineError(ErrorCode::kModelInvalid, weights + ": expected linear.weight [out_features, " + std::to_string(in_features) + "]");
  if (config.value("bias", true) && (!bias_.defined() || bias_.dim() != 1 || bias_.size(0) != weight_.size(0)))
    throw EngineError(ErrorCode::kModelInvalid, weights + ": expected linear.bias [" + std::to_string(weight_.size(0)) + "]");
  if (!config.value("bias", true)) bias_ = torch::Tensor();
}

void StDense::to(const torch::Device& device) {
  weight_ = weight_.to(device);
  if (bias_.defined()) bias_ = bias_.to(device);
}

torch::Tensor StDense::apply(const torch::Tensor& x) const {
  torch::Tensor y = torch::linear(x, weight_, bias_);
  switch (activation_) {
    case Activation::kTanh: return torch::tanh(y);
    case Activation::kIdentity: return y;
    case Activation::kReLU: return torch::relu(y);
    case Activation::kSigmoid: return torch::sigmoid(y);
    case Activation::kGELU: return torch::gelu(y);
  }
  return y;
}

}  // namespace bert
