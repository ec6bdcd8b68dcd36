// Which submodules a TorchScript module's forward calls, and where each argument of each call comes
// from in the forward's own graph: one of forward's parameters, an attribute of the module (the tied
// word-embedding matrix a trace hands to its head), a constant, or the output of an earlier call.
// The engine calls a submodule directly only through this map, never by position or by name: a
// torch.jit.trace records a submodule's parameters in the order its body first used them, so a
// traced `bert` may be forward(attention_mask, input_ids) while its parent takes (input_ids,
// attention_mask), and passing the batch by position would feed token ids in as the mask.
//
// Nothing here knows module names. The encoder is the call that consumes forward's inputs; the head
// is the chain of calls from the encoder's output to forward's answer, each consuming the one
// before. A BERT trace gives bert -> cls, a RoBERTa one roberta -> lm_head, DistilBERT's
// distilbert -> vocab_transform -> activation -> vocab_layer_norm -> vocab_projector. A call whose
// arguments are not all mapped (say one computed in the parent by aten::zeros_like) has no chain:
// the caller then runs the full forward.
//
// Threading: map_calls and find_head_chain run once at load; a BoundCall is immutable afterwards and
// may be invoked from several worker threads at once (TorchScript methods allow concurrent calls).
#pragma once
#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

namespace bert {

// What a model input carries, from the parameter's name.
enum class InputRole { kInputIds, kAttentionMask, kTokenTypeIds };
const char* role_name(InputRole r);

// The role a parameter name says (input_ids, attention_mask, token_type_ids and their usual
// spellings), or nullopt for a name that says nothing (x, argument_1, ...).
std::optional<InputRole> role_of_name(const std::string& name);

// The element of a model's output the engine answers from: a tensor as is, a tuple's first element
// (Hugging Face's torchscript=True), a dict's "logits" or "last_hidden_state" entry (a trace with
// strict=False of a ModelOutput), or a dict's only entry. "" when a dict holds none of these.
std::string answer_key(const std::vector<std::string>& keys);

struct CallMap;

struct ValueSource {
  enum class Kind { kInput, kAttribute, kConstant, kCallOutput, kComputed };
  Kind kind = Kind::kComputed;
  int input = -1;         // kInput: forward's parameter index, self excluded
  std::string attribute;  // kAttribute: dotted path from the module ("bert.embeddings.word_embeddings.weight")
  c10::IValue value;      // kAttribute, kConstant: the value
  int call = -1;          // kCallOutput: index into CallMap::calls
  int element = -1;       // kCallOutput: the tuple element taken; -1: the whole output
  std::string detail;     // kComputed: what computes it, e.g. "aten::zeros_like"
  // "input attention_mask", "attribute bert.embeddings.word_embeddings.weight", "output 0 of bert", ...
  std::string describe(const CallMap& map) const;
};

struct SubmoduleCall {
  std::string path;                 // the submodule's dotted attribute path: "bert", "bert.pooler", "cls"
  std::string method;               // the method called, "forward"
  std::vector<std::string> params;  // the callee's parameter names, self excluded
  std::vector<ValueSource> args;    // one per argument passed, self excluded
};

struct CallMap {
  std::vector<std::string> inputs;   // forward's parameter names, self excluded
  std::vector<SubmoduleCall> calls;  // calls on submodules in forward's top-level block, in graph order
  ValueSource answer;                // where the element the engine answers from (answer_key) comes from
  // "bert.forward(attention_mask <- input attention_mask, input_ids <- input input_ids)", one line per
  // call: for the startup log when a fast path is refused.
  std::string describe() const;
};

// Maps `method` of `module`. Methods of the module itself that it calls (a scripted forward's
// self.hidden_states(...)) are inlined into a copy of the graph first, so the submodule calls in them
// are seen with the parent's own values. The module's graphs are not changed.
CallMap map_calls(const torch::jit::Module& module, const std::string& method = "forward");

// encoder -> head[0] -> head[1] ... -> forward's answer.
struct HeadChain {
  int encoder = -1;
  int hidden_element = -1;   // the element of the encoder's output the head reads (-1: all of it)
  std::vector<int> head;     // calls after the encoder, in order
  std::vector<size_t> slot;  // per head call: the argument that takes the previous output
  std::vector<int> take;     // per head call: the element of the previous output it takes (-1: all)
  int answer_element = -1;   // the element of the last head call's output that forward answers with
};

// The chain, or nullopt with `why` saying which call or argument breaks it.
std::optional<HeadChain> find_head_chain(const CallMap& map, std::string& why);

// A submodule call the engine makes itself, with every argument taken from where forward takes it.
class BoundCall {
 public:
  // Throws EngineError kModelInvalid when the submodule or its method is missing.
  BoundCall(const torch::jit::Module& root, const CallMap& map, int call);
  // forward_args: what forward itself would be called with (Model::forward_args); `flow`: the value
  // for the argument in `flow_slot` (the previous call's output), ignored when flow_slot < 0.
  c10::IValue operator()(const std::vector<c10::IValue>& forward_args, const c10::IValue& flow, int flow_slot) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  torch::jit::Method method_;
  std::vector<ValueSource> args_;
};

// `element` of a call's output (-1: the output itself). Throws EngineError kModelInvalid naming `what`
// when the output is not a tuple that long.
c10::IValue select_element(const c10::IValue& out, int element, const std::string& what);
// The same, which must be a tensor.
torch::Tensor select_tensor(const c10::IValue& out, int element, const std::string& what);

}  // namespace bert
