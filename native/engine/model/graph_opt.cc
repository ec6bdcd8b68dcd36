#include "engine/model/graph_opt.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "engine/kernels/packed_gemm_bf16.h"
#include "engine/kernels/packed_linear_op.h"

namespace bert {
namespace {

using kernels::Activation;
using torch::jit::Graph;
using torch::jit::Module;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kLinear = c10::Symbol::fromQualString("aten::linear");
const c10::Symbol kGelu = c10::Symbol::fromQualString("aten::gelu");
const c10::Symbol kTypeAs = c10::Symbol::fromQualString("aten::type_as");
const std::string kPackedPrefix = "_bert_serve_packed_";

// The attribute of `self` that v reads (prim::GetAttr on the graph's first input), or "".
std::string self_attr(const Value* v, const Graph& g) {
  const Node* n = v->node();
  if (n->kind() != c10::prim::GetAttr || n->input(0) != g.inputs()[0]) return "";
  return n->s(c10::attr::name);
}

bool is_none(const Value* v) { return v->type()->kind() == c10::TypeKind::NoneType || v->mustBeNone(); }

// float32, or bf16 where the bf16 kernel runs and is asked for (a mixed-precision bf16 model's encoder).
bool packable_dtype(const at::Tensor& t) {
  return t.scalar_type() == at::kFloat || (t.scalar_type() == at::kBFloat16 && packed_bf16_enabled());
}

bool float_cpu_matrix(const c10::IValue& v) {
  if (!v.isTensor()) return false;
  const at::Tensor& t = v.toTensor();
  return t.dim() == 2 && packable_dtype(t) && t.device().is_cpu() && t.size(0) > 0 && t.size(1) > 0;
}

bool float_vector_or_none(const c10::IValue& v, int64_t n) {
  if (v.isNone()) return true;
  if (!v.isTensor()) return false;
  const at::Tensor& t = v.toTensor();
  return t.dim() == 1 && t.size(0) == n && packable_dtype(t) && t.device().is_cpu();
}

// The value a linear layer's input was before the casts mixed_precision.h puts in front of it
// (aten::type_as to the weight's dtype): the packed op takes float32 or bf16 and rounds x to the
// weights' format itself, so a float32 residual enters a bf16 layer without a bf16 copy.
Value* uncast(Value* x) {
  while (x->node()->kind() == kTypeAs) x = x->node()->input(0);
  return x;
}

struct Instances {
  c10::ClassTypePtr type;
  std::vector<Module> modules;
};

// Every module instance, grouped by the TorchScript type whose methods they share.
std::vector<Instances> by_type(const Module& root) {
  std::vector<Instances> out;
  std::map<const c10::ClassType*, size_t> index;
  for (const Module& m : root.modules()) {
    const c10::ClassTypePtr t = m.type();
    auto it = index.find(t.get());
    if (it == index.end()) {
      index.emplace(t.get(), out.size());
      out.push_back({t, {m}});
    } else {
      out[it->second].modules.push_back(m);
    }
  }
  return out;
}

std::vector<std::shared_ptr<Graph>> graphs_of(const Instances& group) {
  std::vector<std::shared_ptr<Graph>> out;
  for (const auto& method : group.modules.front().get_methods()) out.push_back(method.graph());
  return out;
}

// Every prim::GetAttr in g (and its blocks): (the object's type, the attribute).
void attributes_read(const torch::jit::Block* b, std::set<std::pair<const c10::Type*, std::string>>& out) {
  for (const Node* n : b->nodes()) {
    for (const torch::jit::Block* sub : n->blocks()) attributes_read(sub, out);
    if (n->kind() == c10::prim::GetAttr) out.emplace(n->input(0)->type().get(), n->s(c10::attr::name));
  }
}

struct Pass {
  GraphOptReport report;
  // (type, weight attribute) of every packed linear layer.
  std::vector<std::pair<Instances*, std::string>> packed_weights;
  // Types whose forward is now exactly packed_linear(input, self.<attr>, 0): the attribute.
  std::map<const c10::ClassType*, std::string> linear_types;

  // aten::linear(x, self.W, self.B | None) in one type's graphs -> packed_linear(x, self.<packed W>).
  void pack(Instances& group) {
    for (const auto& graph : graphs_of(group)) {
      std::vector<Node*> nodes;
      for (Node* n : graph->nodes())
        if (n->kind() == kLinear && n->inputs().size() == 3) nodes.push_back(n);
      bool changed = false;
      for (Node* n : nodes) {
        const std::string w = self_attr(n->input(1), *graph);
        const std::string b = is_none(n->input(2)) ? "" : self_attr(n->input(2), *graph);
        if (w.empty() || (b.empty() && !is_none(n->input(2)))) continue;
        // Every instance must qualify: the rewritten graph serves them all.
        bool all = true;
        for (const Module& m : group.modules) {
          if (!m.hasattr(w) || !float_cpu_matrix(m.attr(w))) {
            all = false;
            break;
          }
          const int64_t out_features = m.attr(w).toTensor().size(0);
          if (!b.empty() && (!m.hasattr(b) || !float_vector_or_none(m.attr(b), out_features))) {
            all = false;
            break;
          }
        }
        if (!all) continue;
        // Named for the weight and the bias: the same weight with another bias is another layer.
        const std::string packed = kPackedPrefix + w + (b.empty() ? "" : "_" + b);
        if (!group.type->hasAttribute(packed)) {
          packed_weights.emplace_back(&group, w);
          for (Module& m : group.modules) {
            const at::Tensor bias = b.empty() || m.attr(b).isNone() ? at::Tensor() : m.attr(b).toTensor();
            const at::Tensor weight = m.attr(w).toTensor();
            const bool bf16 = weight.scalar_type() == at::kBFloat16;
            auto weights =
                bf16 ? kernels::PackedLinearWeights::bf16(weight, bias) : c10::make_intrusive<kernels::PackedLinearWeights>(weight, bias);
            report.packed_bytes += weights->packed.numel() * static_cast<int64_t>(weights->packed.element_size());
            if (bf16) ++report.bf16_layers;
            m.register_attribute(packed, kernels::packed_linear_weights_type(), c10::IValue(std::move(weights)));
            ++report.linear_layers;
          }
        }
        torch::jit::WithInsertPoint guard(n);
        Value* p = graph->insertGetAttr(graph->inputs()[0], packed);
        Value* y = graph->insert(kernels::packed_linear_symbol(), {uncast(n->input(0)), p, int64_t{0}});
        n->output()->replaceAllUsesWith(y);
        n->destroy();
        changed = true;
      }
      if (changed) torch::jit::EliminateDeadCode(graph);
    }
    note_linear_type(group);
  }

  void note_linear_type(const Instances& group) {
    auto method = group.modules.front().find_method("forward");
    if (!method) return;
    auto graph = method->graph();
    if (graph->inputs().size() != 2 || graph->outputs().size() != 1) return;
    const Node* op = graph->outputs()[0]->node();
    if (op->kind() != kernels::packed_linear_symbol() || op->input(0) != graph->inputs()[1]) return;
    const auto act = torch::jit::toIValue(op->input(2));
    const std::string attr = self_attr(op->input(1), *graph);
    if (!attr.empty() && act && act->isInt() && act->toInt() == 0) linear_types[group.type.get()] = attr;
  }

  // Whether `call` (prim::CallMethod forward on a submodule of every instance) computes exact GELU
  // of its one argument: a module whose forward is aten::gelu(x, "none"), with the approximation
  // given as a constant or as an attribute equal to "none" in every instance.
  static bool is_exact_gelu_module(const Node* call, const Instances& parent, const std::string& sub) {
    const auto cls = call->input(0)->type()->cast<c10::ClassType>();
    if (!cls) return false;
    const auto fn = cls->findMethod("forward");
    if (!fn) return false;
    const auto graph = torch::jit::toGraphFunction(*fn).graph();
    if (graph->inputs().size() != 2 || graph->outputs().size() != 1) return false;
    const Node* g = graph->outputs()[0]->node();
    if (g->kind() != kGelu || g->input(0) != graph->inputs()[1]) return false;
    if (g->inputs().size() == 1) return true;
    if (auto c = torch::jit::toIValue(g->input(1))) return c->isString() && c->toStringRef() == "none";
    const std::string attr = self_attr(g->input(1), *graph);
    if (attr.empty()) return false;
    for (const Module& m : parent.modules) {
      const c10::IValue v = m.attr(sub);
      if (!v.isModule()) return false;
      const Module act = v.toModule();
      if (!act.hasattr(attr) || !act.attr(attr).isString() || act.attr(attr).toStringRef() != "none") return false;
    }
    return true;
  }

  // In a parent's graphs: y = self.<linear>(x); z = gelu(y) with y used once -> one packed call
  // with the GELU in its epilogue. The GELU is aten::gelu(y, "none") or a GELU submodule's call.
  void fuse_gelu(Instances& parent) {
    for (const auto& graph : graphs_of(parent)) {
      bool changed = false;
      std::vector<Node*> calls;
      for (Node* n : graph->nodes())
        if (n->kind() == c10::prim::CallMethod && n->s(c10::attr::name) == "forward" && n->inputs().size() == 2) calls.push_back(n);
      std::set<const Node*> gone;  // a GELU module's call is itself in `calls`
      for (Node* call : calls) {
        if (gone.count(call)) continue;
        const auto cls = call->input(0)->type()->cast<c10::ClassType>();
        if (!cls) continue;
        auto lt = linear_types.find(cls.get());
        const std::string sub = self_attr(call->input(0), *graph);
        if (lt == linear_types.end() || sub.empty() || call->output()->uses().size() != 1) continue;
        Node* use = call->output()->uses()[0].user;
        bool gelu = false;
        if (use->kind() == kGelu && use->input(0) == call->output()) {
          auto c =
              use->inputs().size() > 1 ? torch::jit::toIValue(use->input(1)) : c10::optional<c10::IValue>(c10::IValue(std::string("none")));
          gelu = c && c->isString() && c->toStringRef() == "none";
        } else if (use->kind() == c10::prim::CallMethod && use->s(c10::attr::name) == "forward" && use->inputs().size() == 2 &&
                   use->input(1) == call->output()) {
          const std::string act = self_attr(use->input(0), *graph);
          gelu = !act.empty() && is_exact_gelu_module(use, parent, act);
        }
        if (!gelu) continue;
        torch::jit::WithInsertPoint guard(use);
        Value* p = graph->insertGetAttr(call->input(0), lt->second);
        Value* z = graph->insert(kernels::packed_linear_symbol(), {call->input(1), p, static_cast<int64_t>(Activation::kGelu)});
        use->output()->replaceAllUsesWith(z);
        gone.insert(use);
        use->destroy();
        call->destroy();
        report.fused_gelu += static_cast<int>(parent.modules.size());
        changed = true;
      }
      if (changed) torch::jit::EliminateDeadCode(graph);
    }
  }

  // The float32 weights the packed copies replace, where no graph reads them any more and no other
  // attribute holds the same storage (tied embeddings stay): released, so the model does not hold
  // its linear layers twice (BERT-base: 340 MB).
  void release_replaced(const Module& root, std::vector<Instances>& groups) {
    std::set<std::pair<const c10::Type*, std::string>> read;
    for (const Instances& g : groups)
      for (const auto& graph : graphs_of(g)) attributes_read(graph->block(), read);
    std::map<const void*, int> holders;
    for (const Module& m : root.modules()) {
      const auto& type = m.type();
      for (size_t i = 0; i < type->numAttributes(); ++i) {
        const c10::IValue v = m._ivalue()->getSlot(i);
        if (v.isTensor() && v.toTensor().defined()) ++holders[v.toTensor().storage().data()];
      }
    }
    for (auto& [group, w] : packed_weights) {
      if (read.count({group->type.get(), w})) continue;
      for (Module& m : group->modules) {
        const at::Tensor t = m.attr(w).toTensor();
        if (holders[t.storage().data()] != 1) continue;
        report.released_bytes += t.numel() * static_cast<int64_t>(t.element_size());
        m.setattr(w, at::empty({0}, t.options()));
      }
    }
  }
};

}  // namespace

std::string GraphOptReport::describe() const {
  if (linear_layers == 0) return "libtorch linear layers";
  std::ostringstream s;
  s << linear_layers << " linear layers packed for the CPU (" << kernels::isa_name(kernels::preferred_isa()) << ", " << (packed_bytes >> 20)
    << " MiB; " << (released_bytes >> 20) << " MiB of the weights they replace released)";
  if (bf16_layers > 0) s << ", " << bf16_layers << " of them in bf16 (avx512_bf16)";
  if (fused_gelu > 0) s << ", " << fused_gelu << " with their GELU fused";
  return s.str();
}

bool packed_linear_enabled() {
  const char* v = std::getenv("BERT_SERVE_PACKED_LINEAR");
  if (v != nullptr && std::string(v) == "0") return false;
  return kernels::packed_gemm_supported();
}

bool packed_bf16_enabled() {
  const char* v = std::getenv("BERT_SERVE_PACKED_BF16");
  return v != nullptr && std::string(v) == "1" && kernels::bf16_gemm_supported();
}

GraphOptReport pack_linear_layers(Module& module) {
  Pass pass;
  std::vector<Instances> groups = by_type(module);
  for (Instances& g : groups) pass.pack(g);
  // Not in the root's graphs: the heads map forward's submodule calls (call_map.h), and a head
  // built of the root's own children (DistilBERT's vocab_transform, activation, vocab_layer_norm,
  // vocab_projector) must keep every call there. Its linear layers still run packed.
  for (Instances& g : groups)
    if (g.type != module.type()) pass.fuse_gelu(g);
  pass.release_replaced(module, groups);
  return pass.report;
}

}  // namespace bert
