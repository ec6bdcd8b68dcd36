#include "engine/model/mixed_precision.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <unordered_map>

#include "engine/model/call_map.h"

namespace bert {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Module;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kLayerNorm = c10::Symbol::fromQualString("aten::layer_norm");
const c10::Symbol kLinear = c10::Symbol::fromQualString("aten::linear");
const c10::Symbol kTo = c10::Symbol::fromQualString("aten::to");
const c10::Symbol kTypeAs = c10::Symbol::fromQualString("aten::type_as");
// Products of two activations. A scripted model derives its additive attention mask from the
// embeddings' dtype, float32 once their LayerNorm is, so the attention probabilities come out
// float32 while the values are bf16: the first operand takes the second's dtype.
const c10::Symbol kProducts[] = {c10::Symbol::fromQualString("aten::matmul"), c10::Symbol::fromQualString("aten::bmm"),
                                 c10::Symbol::fromQualString("aten::mm")};

bool is_tensor(const Value* v) { return v->type()->kind() == c10::TypeKind::TensorType; }

// The attribute of `self` that v reads (prim::GetAttr on the graph's first input), or "".
std::string self_attr(const Value* v, const Graph& g) {
  const Node* n = v->node();
  if (n->kind() != c10::prim::GetAttr || n->input(0) != g.inputs()[0]) return "";
  return n->s(c10::attr::name);
}

void inline_functions(Block* b) {
  for (auto it = b->nodes().begin(); it != b->nodes().end();) {
    Node* n = *it++;
    for (Block* inner : n->blocks()) inline_functions(inner);
    if (n->kind() != c10::prim::CallFunction || n->input(0)->node()->kind() != c10::prim::Constant) continue;
    const auto type = n->input(0)->type()->cast<c10::FunctionType>();
    torch::jit::GraphFunction* fn = type ? torch::jit::tryToGraphFunction(*type->function()) : nullptr;
    if (!fn) continue;
    n->removeInput(0);
    torch::jit::inlineCallTo(n, fn);
  }
}

void keep_tensor(Float32Plan& plan, const at::Tensor& t) {
  if (!t.defined() || !t.is_floating_point()) return;
  if (plan.keep.insert(t.unsafeGetTensorImpl()).second) plan.kept_bytes += t.numel() * 4;
}

// LayerNorm weights and biases `m`'s own graphs read from its attributes; true when there were any.
bool keep_layer_norm_params(const Module& m, const Block* b, const Graph& g, Float32Plan& plan) {
  bool found = false;
  for (const Node* n : b->nodes()) {
    for (const Block* inner : n->blocks()) found = keep_layer_norm_params(m, inner, g, plan) || found;
    if (n->kind() != kLayerNorm) continue;
    for (size_t i : {2, 3}) {
      const std::string name = i < n->inputs().size() ? self_attr(n->input(i), g) : "";
      if (name.empty() || !m.hasattr(name)) continue;
      const c10::IValue v = m.attr(name);
      if (v.isTensor()) {
        keep_tensor(plan, v.toTensor());
        found = true;
      }
    }
  }
  return found;
}

Value* cast_before(Graph& g, Node* n, const c10::Symbol kind, std::vector<torch::jit::NamedValue> args) {
  torch::jit::WithInsertPoint guard(n);
  return g.insert(kind, args);
}

void rewrite(Block* b, Graph& g, Float32Casts& out) {
  // Per block: the cast already made of a value for a linear layer (query, key and value read one).
  std::unordered_map<Value*, Value*> cast_of;
  for (Node* n : b->nodes()) {
    for (Block* inner : n->blocks()) rewrite(inner, g, out);
    if (n->kind() == kLayerNorm) {
      // The input, and the weight and bias in case they are not the kept attributes (then they are
      // cast on each call; a kept one is float32 already and aten::to returns it as is).
      for (size_t i : {0, 2, 3}) {
        if (i >= n->inputs().size() || !is_tensor(n->input(i))) continue;
        n->replaceInput(i, cast_before(g, n, kTo, {n->input(i), static_cast<int64_t>(at::kFloat), false, false}));
      }
      ++out.layer_norm_inputs;
    } else if (n->kind() == kLinear) {
      Value* x = n->input(0);
      Value* w = n->input(1);
      if (!is_tensor(x) || !is_tensor(w)) continue;
      auto it = cast_of.find(x);
      // A second linear layer on the same input casts the first one's cast: nothing when their
      // weights share a dtype, as they do.
      Value* c = cast_before(g, n, kTypeAs, {it == cast_of.end() ? x : it->second, w});
      if (it == cast_of.end()) cast_of.emplace(x, c);
      n->replaceInput(0, c);
      ++out.linear_inputs;
    } else {
      for (const c10::Symbol k : kProducts) {
        if (n->kind() != k || n->inputs().size() != 2 || !is_tensor(n->input(0)) || !is_tensor(n->input(1))) continue;
        n->replaceInput(0, cast_before(g, n, kTypeAs, {n->input(0), n->input(1)}));
      }
    }
  }
}

}  // namespace

bool mixed_bf16_enabled() {
  const char* v = std::getenv("BERT_SERVE_MIXED_BF16");
  return v == nullptr || std::string(v) != "0";
}

HeadParts find_head_parts(const Module& module) {
  HeadParts out;
  std::string why;
  const CallMap map = map_calls(module);
  const auto chain = find_head_chain(map, why);
  if (!chain) return out;
  for (int c : chain->head) {
    const SubmoduleCall& call = map.calls[static_cast<size_t>(c)];
    out.submodules.push_back(call.path);
    for (const ValueSource& a : call.args)
      if (a.kind == ValueSource::Kind::kAttribute && a.value.isTensor()) out.arguments.push_back(a.value.toTensor());
  }
  return out;
}

Float32Plan plan_float32(Module& module, const HeadParts& head) {
  std::unordered_set<const Graph*> inlined;
  for (const Module& m : module.modules())
    for (const auto& method : m.get_methods())
      if (inlined.insert(method.graph().get()).second) inline_functions(method.graph()->block());
  Float32Plan plan;
  for (const Module& m : module.modules()) {
    bool found = false;
    for (const auto& method : m.get_methods()) {
      const auto graph = method.graph();
      found = keep_layer_norm_params(m, graph->block(), *graph, plan) || found;
    }
    if (found) ++plan.layer_norms;
  }
  for (const at::Tensor& t : head.arguments) keep_tensor(plan, t);
  for (const std::string& path : head.submodules) {
    Module sub = module;
    std::stringstream parts(path);
    std::string part;
    bool ok = true;
    while (ok && std::getline(parts, part, '.')) {
      ok = sub.hasattr(part) && sub.attr(part).isModule();
      if (ok) sub = sub.attr(part).toModule();
    }
    if (!ok) continue;
    for (const at::Tensor& t : sub.parameters()) keep_tensor(plan, t);
    for (const at::Tensor& t : sub.buffers()) keep_tensor(plan, t);
    plan.head.push_back(path);
  }
  return plan;
}

Float32Casts insert_float32_casts(Module& module) {
  Float32Casts out;
  std::unordered_set<const Graph*> seen;  // instances of one type share their methods' graphs
  for (const Module& m : module.modules()) {
    for (const auto& method : m.get_methods()) {
      const auto graph = method.graph();
      if (seen.insert(graph.get()).second) rewrite(graph->block(), *graph, out);
    }
  }
  return out;
}

std::string describe_mixed_precision(const Float32Plan& plan, const Float32Casts& casts) {
  std::ostringstream s;
  s << "bfloat16 linear layers and attention; float32 LayerNorms (" << plan.layer_norms << ", " << casts.layer_norm_inputs
    << " in the graphs) and residual sums";
  if (!plan.head.empty()) {
    s << ", and the head (";
    for (size_t i = 0; i < plan.head.size(); ++i) s << (i ? ", " : "") << plan.head[i];
    s << ")";
  }
  char mib[32];
  std::snprintf(mib, sizeof mib, "%.1f", static_cast<double>(plan.kept_bytes) / (1 << 20));
  s << "; " << mib << " MiB of weights kept float32";
  return s.str();
}

}  // namespace bert
