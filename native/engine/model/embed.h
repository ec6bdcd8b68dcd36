// Embeddings (feature extraction) from an encoder's last_hidden_state [batch, seq, hidden]: pooled
// to one vector per text (cls, mean, max or lasttoken, as sentence-transformers and
// text-embeddings-inference define them), optionally cut to the first `dimensions` values and L2
// normalized, or every token's vector (embed_all). Pooling and normalization run on the model's
// device in float32; answers are serialized natively as JSON numbers (shortest float32 form) or as
// base64 of little-endian float32, the OpenAI clients' encoding.
//
// The pooling comes from the model directory: sentence-transformers' modules.json and its Pooling
// module's config.json (1_Pooling/config.json); else the engine option; else cls (as TEI). Dense
// modules after the pooling (2_Dense) are applied to the pooled embedding (st_dense.h); a module the
// engine does not compute refuses the model at load.
#pragma once
#include <map>
#include <string>

#include "engine/model/st_dense.h"
#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"

namespace bert {

enum class Pooling { kCls, kMean, kMax, kLastToken };

class EmbedHead : public TaskHead {
 public:
  explicit EmbedHead(const HeadContext& c);
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;
  std::string info_json() const override;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  Pooling pooling_ = Pooling::kCls;
  std::string pooling_source_;                  // where the pooling came from, for /info
  bool normalize_module_ = false;               // modules.json has a Normalize module
  std::map<std::string, std::string> prompts_;  // config_sentence_transformers.json "prompts"
  std::string default_prompt_name_;
  int64_t hidden_ = 0;          // last_hidden_state's width (embed_all's vectors)
  int64_t pooled_dims_ = 0;     // a pooled embedding's width, after the Dense modules
  std::vector<StDense> dense_;  // modules.json's Dense modules, applied after pooling in order
};

const char* pooling_name(Pooling p);

}  // namespace bert
