// call_map: where each argument of a submodule call comes from, on modules defined here in
// TorchScript (every shape of call the engine must map or refuse) and on a real trace from the zoo
// (models/zoo, made by scripts/make_zoo.py) whose encoder records forward(attention_mask, input_ids).
#include <sys/stat.h>

#include <torch/script.h>

#include "engine/model/call_map.h"
// After the engine headers: see check.h on glog's CHECK macros.
#include "check.h"

using namespace bert;

namespace {

torch::jit::Module encoder(const char* signature_and_body) {
  torch::jit::Module m("Encoder");
  torch::manual_seed(1);
  m.register_parameter("w", torch::randn({50, 8}), false);
  m.define(signature_and_body);
  return m;
}

torch::jit::Module head() {
  torch::jit::Module m("Head");
  m.register_parameter("proj", torch::randn({8, 50}), false);
  m.define(R"(
    def forward(self, hidden):
        return torch.matmul(hidden, self.proj)
  )");
  return m;
}

// Ids and mask of two rows, the second padded, so that feeding one for the other shows.
std::vector<c10::IValue> inputs() {
  return {torch::tensor({{2, 7, 9, 4}, {3, 8, 0, 0}}, torch::kLong), torch::tensor({{1, 1, 1, 1}, {1, 1, 0, 0}}, torch::kLong)};
}

constexpr const char* kMaskFirst = R"(
  def forward(self, attention_mask, input_ids):
      return torch.embedding(self.w, input_ids) * attention_mask.unsqueeze(-1).float()
)";

torch::jit::Module parent(const char* body, torch::jit::Module enc, torch::jit::Module cls) {
  torch::jit::Module m("Parent");
  m.register_module("bert", enc);
  m.register_module("cls", cls);
  m.define(body);
  return m;
}

// Runs encoder -> head as the engine does: each call with the arguments the map gives it.
torch::Tensor run_chain(const torch::jit::Module& m, const CallMap& map, const HeadChain& chain) {
  const auto args = inputs();
  BoundCall enc(m, map, chain.encoder);
  c10::IValue flow = select_tensor(enc(args, c10::IValue(), -1), chain.hidden_element, enc.name());
  for (size_t i = 0; i < chain.head.size(); ++i) {
    BoundCall h(m, map, chain.head[i]);
    if (i > 0) flow = select_element(flow, chain.take[i], "previous call");
    flow = h(args, flow, static_cast<int>(chain.slot[i]));
  }
  return select_tensor(flow, chain.answer_element, "head");
}

torch::Tensor run_forward(torch::jit::Module& m) {
  c10::IValue out = m.forward(inputs());
  if (out.isTuple()) out = out.toTupleRef().elements()[0];
  if (out.isGenericDict()) out = out.toGenericDict().at(c10::IValue("logits"));
  return out.toTensor();
}

}  // namespace

TEST_CASE(maps_each_argument_to_the_parent_input_that_feeds_it) {
  auto m = parent(R"(
    def forward(self, input_ids, attention_mask):
        return (self.cls.forward(self.bert.forward(attention_mask, input_ids)),)
  )",
                  encoder(kMaskFirst), head());
  const CallMap map = map_calls(m);
  CHECK_EQ(map.inputs.size(), size_t{2});
  CHECK_EQ(map.calls.size(), size_t{2});
  CHECK_EQ(map.calls[0].path, std::string("bert"));
  CHECK(map.calls[0].params == (std::vector<std::string>{"attention_mask", "input_ids"}));
  CHECK(map.calls[0].args[0].kind == ValueSource::Kind::kInput);
  CHECK_EQ(map.calls[0].args[0].input, 1);  // attention_mask is forward's second parameter
  CHECK_EQ(map.calls[0].args[1].input, 0);
  CHECK(map.calls[1].args[0].kind == ValueSource::Kind::kCallOutput);
  std::string why;
  auto chain = find_head_chain(map, why);
  CHECK(chain.has_value());
  if (!chain) return;
  CHECK_EQ(chain->encoder, 0);
  CHECK(chain->head == std::vector<int>{1});
  CHECK(torch::equal(run_chain(m, map, *chain), run_forward(m)));
  // What passing the batch by position would have done: ids as the mask.
  auto positional = m.attr("bert").toModule().forward(inputs()).toTensor();
  auto mapped = m.attr("bert").toModule().forward({inputs()[1], inputs()[0]}).toTensor();
  CHECK(!torch::equal(positional, mapped));
}

TEST_CASE(a_tied_weight_passed_to_the_head_is_an_attribute) {
  torch::jit::Module tied("TiedHead");
  tied.define(R"(
    def forward(self, weight, hidden):
        return torch.matmul(hidden, weight.t())
  )");
  auto m = parent(R"(
    def forward(self, input_ids, attention_mask):
        return self.cls.forward(self.bert.w, self.bert.forward(attention_mask, input_ids))
  )",
                  encoder(kMaskFirst), tied);
  const CallMap map = map_calls(m);
  CHECK(map.calls[1].args[0].kind == ValueSource::Kind::kAttribute);
  CHECK_EQ(map.calls[1].args[0].attribute, std::string("bert.w"));
  std::string why;
  auto chain = find_head_chain(map, why);
  CHECK(chain.has_value());
  if (!chain) return;
  CHECK_EQ(chain->slot[0], size_t{1});
  CHECK(torch::equal(run_chain(m, map, *chain), run_forward(m)));
}

TEST_CASE(an_argument_computed_in_forward_leaves_no_chain) {
  auto enc = encoder(R"(
    def forward(self, input_ids, attention_mask, token_type_ids):
        return torch.embedding(self.w, input_ids + token_type_ids) * attention_mask.unsqueeze(-1).float()
  )");
  auto m = parent(R"(
    def forward(self, input_ids, attention_mask):
        return self.cls.forward(self.bert.forward(input_ids, attention_mask, torch.zeros_like(input_ids)))
  )",
                  enc, head());
  const CallMap map = map_calls(m);
  CHECK(map.calls[0].args[2].kind == ValueSource::Kind::kComputed);
  std::string why;
  CHECK(!find_head_chain(map, why).has_value());
  CHECK(why.find("aten::zeros_like") != std::string::npos);
  CHECK(why.find("token_type_ids") != std::string::npos);
}

TEST_CASE(a_head_that_reads_the_inputs_is_not_a_row_wise_head) {
  torch::jit::Module reads("ReadsIds");
  reads.define(R"(
    def forward(self, hidden, input_ids):
        return hidden * input_ids.unsqueeze(-1).float()
  )");
  auto m = parent(R"(
    def forward(self, input_ids, attention_mask):
        return self.cls.forward(self.bert.forward(attention_mask, input_ids), input_ids)
  )",
                  encoder(kMaskFirst), reads);
  std::string why;
  CHECK(!find_head_chain(map_calls(m), why).has_value());
  CHECK(why.find("takes forward's inputs") != std::string::npos);
}

TEST_CASE(methods_of_the_module_itself_are_inlined) {
  torch::jit::Module m("Scripted");
  m.register_module("bert", encoder(kMaskFirst));
  m.register_module("cls", head());
  m.define(R"(
    def sequence_output(self, ids, mask):
        return self.bert.forward(mask, ids)

    def forward(self, input_ids, attention_mask):
        return (self.cls.forward(self.sequence_output(input_ids, attention_mask)),)
  )");
  const CallMap map = map_calls(m);
  CHECK_EQ(map.calls.size(), size_t{2});
  std::string why;
  auto chain = find_head_chain(map, why);
  CHECK(chain.has_value());
  if (chain) CHECK(torch::equal(run_chain(m, map, *chain), run_forward(m)));
  // The module's own graph is left as it was.
  bool still_calls = false;
  for (auto* n : m.get_method("forward").graph()->nodes())
    if (n->kind() == c10::prim::CallMethod && n->s(c10::attr::name) == "sequence_output") still_calls = true;
  CHECK(still_calls);
}

TEST_CASE(tuple_elements_and_dict_answers) {
  auto enc = encoder(R"(
    def forward(self, attention_mask, input_ids):
        h = torch.embedding(self.w, input_ids) * attention_mask.unsqueeze(-1).float()
        return (h, h[:, 0])
  )");
  auto m = parent(R"(
    def forward(self, input_ids, attention_mask):
        out = self.bert.forward(attention_mask, input_ids)
        return {"pooled": out[1], "logits": self.cls.forward(out[0])}
  )",
                  enc, head());
  const CallMap map = map_calls(m);
  CHECK(map.answer.kind == ValueSource::Kind::kCallOutput);
  CHECK_EQ(map.answer.call, 1);
  std::string why;
  auto chain = find_head_chain(map, why);
  CHECK(chain.has_value());
  if (!chain) return;
  CHECK_EQ(chain->hidden_element, 0);
  CHECK(torch::equal(run_chain(m, map, *chain), run_forward(m)));
}

TEST_CASE(a_head_of_several_calls_is_found_by_structure_not_names) {
  // DistilBERT's shape: distilbert -> vocab_transform -> activation -> vocab_layer_norm -> vocab_projector.
  auto linear = [](const char* name, int64_t in, int64_t out) {
    torch::jit::Module m(name);
    m.register_parameter("w", torch::randn({in, out}), false);
    m.define("def forward(self, x):\n    return torch.matmul(x, self.w)\n");
    return m;
  };
  torch::jit::Module act("Act");
  act.define("def forward(self, x):\n    return torch.relu(x)\n");
  torch::jit::Module m("DistilLike");
  m.register_module("distilbert", encoder(kMaskFirst));
  m.register_module("vocab_transform", linear("Transform", 8, 8));
  m.register_module("activation", act);
  m.register_module("vocab_layer_norm", linear("Norm", 8, 8));
  m.register_module("vocab_projector", linear("Projector", 8, 50));
  m.define(R"(
    def forward(self, input_ids, attention_mask):
        h = self.distilbert.forward(attention_mask, input_ids)
        h = self.vocab_transform.forward(h)
        h = self.activation.forward(h)
        h = self.vocab_layer_norm.forward(h)
        return (self.vocab_projector.forward(h),)
  )");
  const CallMap map = map_calls(m);
  std::string why;
  auto chain = find_head_chain(map, why);
  CHECK(chain.has_value());
  if (!chain) return;
  CHECK_EQ(map.calls[static_cast<size_t>(chain->encoder)].path, std::string("distilbert"));
  CHECK_EQ(chain->head.size(), size_t{4});
  CHECK(torch::equal(run_chain(m, map, *chain), run_forward(m)));
}

TEST_CASE(names_say_roles_and_answers) {
  CHECK(role_of_name("input_ids") == InputRole::kInputIds);
  CHECK(role_of_name("attention_mask") == InputRole::kAttentionMask);
  CHECK(role_of_name("Token_Type_Ids") == InputRole::kTokenTypeIds);
  CHECK(role_of_name("segment_ids") == InputRole::kTokenTypeIds);
  CHECK(!role_of_name("x").has_value());
  CHECK(!role_of_name("argument_1").has_value());
  CHECK_EQ(answer_key({"pooler_output", "last_hidden_state"}), std::string("last_hidden_state"));
  CHECK_EQ(answer_key({"scores"}), std::string("scores"));
  CHECK_EQ(answer_key({"prediction_logits", "seq_relationship_logits"}), std::string(""));
}

TEST_CASE(a_real_trace_whose_encoder_takes_the_mask_first) {
  const std::string path = "models/zoo/issue-mlm-mask-first/model.pt";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "  %s is missing: run scripts/make_zoo.py models/zoo\n", path.c_str());
    bert_test::failures()++;
    return;
  }
  torch::jit::Module m = torch::jit::load(path);
  const CallMap map = map_calls(m);
  std::string why;
  auto chain = find_head_chain(map, why);
  CHECK(chain.has_value());
  if (!chain) {
    std::fprintf(stderr, "  %s: %s\n", why.c_str(), map.describe().c_str());
    return;
  }
  const SubmoduleCall& bert = map.calls[static_cast<size_t>(chain->encoder)];
  CHECK_EQ(bert.path, std::string("bert"));
  CHECK(bert.params == (std::vector<std::string>{"attention_mask", "input_ids"}));
  CHECK(map.inputs == (std::vector<std::string>{"input_ids", "attention_mask"}));
  CHECK_EQ(bert.args[0].input, 1);
  CHECK_EQ(bert.args[1].input, 0);
  CHECK_EQ(map.calls[static_cast<size_t>(chain->head[0])].path, std::string("cls"));
}

TEST_MAIN()
