// Embeddings (feature extraction) from an encoder's last_hidden_state [batch, seq, hidden]: pooled
// to one vector per text (cls, mean, max or lasttoken, as sentence-transformers and
// text-embeddings-inference define them), optionally cut to the first `dimensions` values and L2
// normalized, or every token's vector (embed_all). Pooling and normalization run on the model's
// device in float32; answers are serialized natively as JSON numbers (shortest float32 form) or as
// base64 of little-endian float32, the OpenAI clients' encoding.
//
// The pooling comes from the model directory: sentence-transformers' modules.json and its Pooling
// module's config.json (1_Pooling/config.json); else the engine option; else cls (as TEI).
#pragma once
#include <map>
#include <string>

#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"

namespace bert {

enum class Pooling { kCls, kMean, kMax, kLastToken };

struct EmbedParams : HeadParams {
  bool normalize = true;
  bool all_tokens = false;  // embed_all: every token's vector, no pooling
  bool base64 = false;
  int64_t dimensions = 0;   // 0: all
};

class EmbedHead : public TaskHead {
 public:
  explicit EmbedHead(const HeadContext& c);
  const char* name() const override { return "feature-extraction"; }
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;
  std::string info_json() const override;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  Pooling pooling_ = Pooling::kCls;
  std::string pooling_source_;           // where the pooling came from, for /info
  bool normalize_module_ = false;        // modules.json has a Normalize module
  std::map<std::string, std::string> prompts_;  // config_sentence_transformers.json "prompts"
  std::string default_prompt_name_;
  int64_t hidden_ = 0;
};

const char* pooling_name(Pooling p);

}  // namespace bert
