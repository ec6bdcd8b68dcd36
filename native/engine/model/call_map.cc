#include "engine/model/call_map.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "engine/errors.h"

namespace bert {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Calls of the module's own methods (input 0 is `self`, e.g. a scripted forward's
// self.hidden_states(...)) are replaced by their bodies, so that what they call on submodules is seen
// with the parent's values. Bounded: a method that calls itself is left as a call.
void inline_self_calls(const torch::jit::Module& module, Graph& graph) {
  for (int round = 0; round < 32; ++round) {
    Node* found = nullptr;
    for (Node* n : graph.nodes()) {
      if (n->kind() == c10::prim::CallMethod && n->input(0) == graph.inputs()[0] && module.find_method(n->s(c10::attr::name))) {
        found = n;
        break;
      }
    }
    if (!found) return;
    auto method = module.find_method(found->s(c10::attr::name));
    // false: the method's own graph, not its optimized one (which has every call inlined already).
    torch::jit::inlineCallTo(found, &torch::jit::toGraphFunction(method->function()), false);
  }
}

// The attribute names from `self` to v when v is a chain of prim::GetAttr rooted at the graph's self.
std::optional<std::vector<std::string>> attribute_path(Value* v, Value* self) {
  std::vector<std::string> path;
  while (v->node()->kind() == c10::prim::GetAttr) {
    path.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  if (v != self || path.empty()) return std::nullopt;
  std::reverse(path.begin(), path.end());
  return path;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

c10::IValue attribute_value(const torch::jit::Module& module, const std::vector<std::string>& path) {
  c10::IValue cur = module._ivalue();
  for (const auto& name : path) {
    if (!cur.isObject() || !cur.toObjectRef().type()->hasAttribute(name)) return c10::IValue();
    cur = cur.toObjectRef().getAttr(name);
  }
  return cur;
}

std::vector<std::string> param_names(const torch::jit::Function& f) {
  std::vector<std::string> names;
  const auto& args = f.getSchema().arguments();
  for (size_t i = 1; i < args.size(); ++i) names.push_back(args[i].name());
  return names;
}

class Mapper {
 public:
  Mapper(const torch::jit::Module& module, Graph& graph, CallMap& map) : module_(module), graph_(graph), map_(map) {}

  void run() {
    Value* self = graph_.inputs()[0];
    for (Node* n : graph_.nodes()) {
      if (n->kind() != c10::prim::CallMethod) continue;
      auto path = attribute_path(n->input(0), self);
      if (!path) continue;
      c10::IValue target = attribute_value(module_, *path);
      if (!target.isObject()) continue;
      torch::jit::Module sub(target.toObject());
      auto method = sub.find_method(n->s(c10::attr::name));
      if (!method) continue;
      SubmoduleCall call;
      call.path = join(*path, ".");
      call.method = n->s(c10::attr::name);
      call.params = param_names(method->function());
      for (size_t i = 1; i < n->inputs().size(); ++i) call.args.push_back(source_of(n->input(i)));
      call_index_[n] = static_cast<int>(map_.calls.size());
      map_.calls.push_back(std::move(call));
    }
    map_.answer = answer_source();
  }

 private:
  ValueSource computed(const std::string& what) {
    ValueSource s;
    s.kind = ValueSource::Kind::kComputed;
    s.detail = what;
    return s;
  }

  ValueSource source_of(Value* v) {
    Value* self = graph_.inputs()[0];
    Node* n = v->node();
    if (n->kind() == c10::prim::Param) {
      if (v == self) return computed("the module itself");
      ValueSource s;
      s.kind = ValueSource::Kind::kInput;
      s.input = static_cast<int>(v->offset()) - 1;
      return s;
    }
    if (n->kind() == c10::prim::Constant) {
      ValueSource s;
      s.kind = ValueSource::Kind::kConstant;
      if (auto c = torch::jit::toIValue(v)) s.value = *c;
      return s;
    }
    if (n->kind() == c10::prim::GetAttr) {
      auto path = attribute_path(v, self);
      if (!path) return computed("an attribute of a computed value");
      c10::IValue value = attribute_value(module_, *path);
      if (value.isObject()) return computed("the submodule object " + join(*path, "."));
      ValueSource s;
      s.kind = ValueSource::Kind::kAttribute;
      s.attribute = join(*path, ".");
      s.value = value;
      return s;
    }
    if (n->kind() == c10::prim::CallMethod) {
      auto it = call_index_.find(n);
      if (it == call_index_.end()) return computed("a call that is not on a submodule");
      ValueSource s;
      s.kind = ValueSource::Kind::kCallOutput;
      s.call = it->second;
      return s;
    }
    if (n->kind() == c10::prim::TupleUnpack || n->kind() == c10::prim::TupleIndex) {
      int element = static_cast<int>(v->offset());
      if (n->kind() == c10::prim::TupleIndex) {
        auto i = torch::jit::toIValue(n->input(1));
        if (!i || !i->isInt()) return computed("a tuple index that is not a constant");
        element = static_cast<int>(i->toInt());
      }
      ValueSource s = source_of(n->input(0));
      if (s.kind != ValueSource::Kind::kCallOutput || s.element >= 0) return computed(n->kind().toQualString());
      s.element = element;
      return s;
    }
    // Dropout in eval mode (a trace of a module in eval() records it with train=False) passes its
    // input through.
    if (n->kind() == c10::aten::dropout || n->kind() == c10::aten::feature_dropout) {
      auto train = torch::jit::toIValue(n->input(2));
      if (train && train->isBool() && !train->toBool()) return source_of(n->input(0));
    }
    return computed(n->kind().toQualString());
  }

  // What the engine answers from: forward's return value, through the tuple or dict it is built in.
  ValueSource answer_source() {
    if (graph_.outputs().size() != 1) return computed("a forward with several outputs");
    Value* v = graph_.outputs()[0];
    Node* n = v->node();
    if (n->kind() == c10::prim::TupleConstruct) {
      if (n->inputs().empty()) return computed("an empty tuple");
      return source_of(n->input(0));
    }
    if (n->kind() == c10::prim::DictConstruct) {
      std::vector<std::string> keys;
      for (size_t i = 0; i + 1 < n->inputs().size(); i += 2) {
        auto k = torch::jit::toIValue(n->input(i));
        keys.push_back(k && k->isString() ? k->toStringRef() : "");
      }
      const std::string key = answer_key(keys);
      for (size_t i = 0; i < keys.size(); ++i)
        if (!key.empty() && keys[i] == key) return source_of(n->input(2 * i + 1));
      return computed("a dict without a logits or last_hidden_state entry");
    }
    return source_of(v);
  }

  const torch::jit::Module& module_;
  Graph& graph_;
  CallMap& map_;
  std::map<Node*, int> call_index_;
};

bool fixed(const ValueSource& s) { return s.kind == ValueSource::Kind::kAttribute || s.kind == ValueSource::Kind::kConstant; }

}  // namespace

const char* role_name(InputRole r) {
  switch (r) {
    case InputRole::kInputIds: return "input_ids";
    case InputRole::kAttentionMask: return "attention_mask";
    case InputRole::kTokenTypeIds: return "token_type_ids";
  }
  return "?";
}

std::optional<InputRole> role_of_name(const std::string& raw) {
  std::string name = lower(raw);
  while (!name.empty() && name.front() == '_') name.erase(name.begin());
  static const std::map<std::string, InputRole> kNames = {
      {"input_ids", InputRole::kInputIds},
      {"ids", InputRole::kInputIds},
      {"input", InputRole::kInputIds},
      {"inputs", InputRole::kInputIds},
      {"token_ids", InputRole::kInputIds},
      {"tokens", InputRole::kInputIds},
      {"attention_mask", InputRole::kAttentionMask},
      {"mask", InputRole::kAttentionMask},
      {"attn_mask", InputRole::kAttentionMask},
      {"input_mask", InputRole::kAttentionMask},
      {"attention", InputRole::kAttentionMask},
      {"token_type_ids", InputRole::kTokenTypeIds},
      {"token_types", InputRole::kTokenTypeIds},
      {"type_ids", InputRole::kTokenTypeIds},
      {"segment_ids", InputRole::kTokenTypeIds},
      {"segments", InputRole::kTokenTypeIds},
      {"input_type_ids", InputRole::kTokenTypeIds},
  };
  auto it = kNames.find(name);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

std::string answer_key(const std::vector<std::string>& keys) {
  for (const char* preferred : {"logits", "last_hidden_state"})
    if (std::find(keys.begin(), keys.end(), preferred) != keys.end()) return preferred;
  return keys.size() == 1 ? keys[0] : "";
}

std::string ValueSource::describe(const CallMap& map) const {
  switch (kind) {
    case Kind::kInput:
      return "input " + (input >= 0 && input < static_cast<int>(map.inputs.size()) ? map.inputs[input] : std::to_string(input));
    case Kind::kAttribute: return "attribute " + attribute;
    case Kind::kConstant: {
      if (value.isNone()) return "constant None";
      if (value.isTensor()) return "a constant tensor";
      std::ostringstream s;
      s << "constant " << value;
      return s.str();
    }
    case Kind::kCallOutput: {
      const std::string who = call >= 0 && call < static_cast<int>(map.calls.size()) ? map.calls[call].path : "?";
      return element >= 0 ? "output " + std::to_string(element) + " of " + who : "the output of " + who;
    }
    case Kind::kComputed: return "computed in forward (" + detail + ")";
  }
  return "?";
}

std::string CallMap::describe() const {
  std::string out;
  for (const auto& c : calls) {
    if (!out.empty()) out += "; ";
    out += c.path + "." + c.method + "(";
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i) out += ", ";
      out += (i < c.params.size() ? c.params[i] : "?") + " <- " + c.args[i].describe(*this);
    }
    out += ")";
  }
  return out.empty() ? "no submodule calls" : out;
}

CallMap map_calls(const torch::jit::Module& module, const std::string& method) {
  CallMap map;
  auto m = module.find_method(method);
  if (!m) return map;
  map.inputs = param_names(m->function());
  std::shared_ptr<Graph> graph = m->graph()->copy();
  inline_self_calls(module, *graph);
  Mapper(module, *graph, map).run();
  return map;
}

std::optional<HeadChain> find_head_chain(const CallMap& map, std::string& why) {
  const ValueSource& answer = map.answer;
  if (answer.kind != ValueSource::Kind::kCallOutput) {
    why = "forward's answer is " + answer.describe(map) + ", not a submodule's output";
    return std::nullopt;
  }
  HeadChain chain;
  chain.answer_element = answer.element;
  int cur = answer.call;
  for (size_t depth = 0; depth <= map.calls.size(); ++depth) {
    const SubmoduleCall& c = map.calls[static_cast<size_t>(cur)];
    int flow = -1;
    bool has_input = false;
    for (size_t i = 0; i < c.args.size(); ++i) {
      const ValueSource& a = c.args[i];
      const std::string param = c.path + "." + c.method + " argument " + (i < c.params.size() ? c.params[i] : std::to_string(i));
      if (a.kind == ValueSource::Kind::kComputed) {
        why = param + " is " + a.describe(map);
        return std::nullopt;
      }
      if (a.kind == ValueSource::Kind::kInput) has_input = true;
      if (a.kind == ValueSource::Kind::kCallOutput) {
        if (flow >= 0) {
          why = c.path + " takes the outputs of two calls";
          return std::nullopt;
        }
        flow = static_cast<int>(i);
      }
    }
    if (flow < 0) {
      if (!has_input) {
        why = c.path + " takes none of forward's inputs";
        return std::nullopt;
      }
      if (chain.head.empty()) {
        why = "forward answers with " + c.path + "'s output directly: there is no head after the encoder";
        return std::nullopt;
      }
      chain.encoder = cur;
      return chain;
    }
    if (has_input) {
      why = c.path + " takes forward's inputs as well as " + c.args[static_cast<size_t>(flow)].describe(map) +
            " (a head that reads the token ids cannot run on selected rows)";
      return std::nullopt;
    }
    const ValueSource& prev = c.args[static_cast<size_t>(flow)];
    chain.head.insert(chain.head.begin(), cur);
    chain.slot.insert(chain.slot.begin(), static_cast<size_t>(flow));
    chain.take.insert(chain.take.begin(), prev.element);
    chain.hidden_element = prev.element;  // overwritten until the encoder is reached
    if (prev.call >= cur) {
      why = "the calls are not in order";
      return std::nullopt;
    }
    cur = prev.call;
  }
  why = "the chain of calls does not end at an encoder";
  return std::nullopt;
}

namespace {

torch::jit::Method resolve_method(const torch::jit::Module& root, const SubmoduleCall& c) {
  c10::IValue cur = root._ivalue();
  std::istringstream parts(c.path);
  for (std::string part; std::getline(parts, part, '.');) {
    if (!cur.isObject() || !cur.toObjectRef().type()->hasAttribute(part))
      throw EngineError(ErrorCode::kModelInvalid, "the module has no submodule " + c.path);
    cur = cur.toObjectRef().getAttr(part);
  }
  if (!cur.isObject()) throw EngineError(ErrorCode::kModelInvalid, c.path + " is not a submodule");
  auto method = torch::jit::Module(cur.toObject()).find_method(c.method);
  if (!method) throw EngineError(ErrorCode::kModelInvalid, c.path + " has no method " + c.method);
  return *method;
}

}  // namespace

BoundCall::BoundCall(const torch::jit::Module& root, const CallMap& map, int call)
    : name_(map.calls.at(static_cast<size_t>(call)).path + "." + map.calls.at(static_cast<size_t>(call)).method),
      method_(resolve_method(root, map.calls.at(static_cast<size_t>(call)))),
      args_(map.calls.at(static_cast<size_t>(call)).args) {}

c10::IValue BoundCall::operator()(const std::vector<c10::IValue>& forward_args, const c10::IValue& flow, int flow_slot) const {
  std::vector<c10::IValue> stack;
  stack.reserve(args_.size());
  for (size_t i = 0; i < args_.size(); ++i) {
    const ValueSource& a = args_[i];
    if (static_cast<int>(i) == flow_slot) {
      stack.push_back(flow);
    } else if (a.kind == ValueSource::Kind::kInput) {
      if (a.input < 0 || a.input >= static_cast<int>(forward_args.size()))
        throw EngineError(ErrorCode::kInternal, name_ + ": forward argument " + std::to_string(a.input) + " was not given");
      stack.push_back(forward_args[static_cast<size_t>(a.input)]);
    } else if (fixed(a)) {
      stack.push_back(a.value);
    } else {
      throw EngineError(ErrorCode::kInternal, name_ + ": argument " + std::to_string(i) + " is not mapped");
    }
  }
  return method_(std::move(stack));
}

c10::IValue select_element(const c10::IValue& out, int element, const std::string& what) {
  if (element < 0) return out;
  if (!out.isTuple() || out.toTupleRef().elements().size() <= static_cast<size_t>(element))
    throw EngineError(ErrorCode::kModelInvalid,
                      what + " returned " + out.tagKind() + "; expected a tuple with an element " + std::to_string(element));
  return out.toTupleRef().elements()[static_cast<size_t>(element)];
}

torch::Tensor select_tensor(const c10::IValue& out, int element, const std::string& what) {
  c10::IValue v = select_element(out, element, what);
  if (!v.isTensor()) throw EngineError(ErrorCode::kModelInvalid, what + " gave " + v.tagKind() + " where a tensor was expected");
  return v.toTensor();
}

}  // namespace bert
