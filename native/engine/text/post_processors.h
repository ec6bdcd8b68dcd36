// tokenizer.json's post-processors: they add the special tokens around one text or a pair and assign
// the type ids. Ports of `tokenizers`' BertProcessing, RobertaProcessing, TemplateProcessing,
// ByteLevel and Sequence, working as Rust's do on a list of encodings that is concatenated at the
// end. Offset trimming (ByteLevel / RobertaProcessing with trim_offsets) is not done here but on
// each text's tokens before (pipeline.cc), in characters as Rust does it: trim_passes() says how.
//
// Threading: a built post-processor is immutable; its methods are const and safe from any thread.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/text/encoding.h"

namespace bert {

// One encoding in the post-processor's list (Rust `Encoding`, reduced to what is kept).
struct EncodingPart {
  std::vector<int64_t> ids;
  std::vector<uint32_t> type_ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  std::vector<uint8_t> special;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Tokens it adds to one text / a pair (what truncation reserves room for).
  virtual size_t added_tokens(bool pair) const = 0;
  // Rust process_encodings.
  virtual void process(std::vector<EncodingPart>& parts, bool add_special_tokens) const = 0;
  // The offset-trimming passes it makes, in order: each pass's add_prefix_space.
  virtual void trim_passes(std::vector<bool>& out) const { (void)out; }
  // The special tokens it adds to a single text / a pair, in order (e.g. [CLS], [SEP]): how the role
  // tokens (cls, sep) are found when no tokenizer_config.json names them, and the ids checked
  // against the vocabulary at load.
  virtual std::vector<std::pair<std::string, int64_t>> specials(bool pair) const = 0;
  virtual std::string describe() const = 0;
};
using PostProcessorPtr = std::shared_ptr<const PostProcessor>;

struct SpecialTokenIds {
  std::string id;
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
};
// A template piece: a sequence (A or B) or a special token, with its type id.
struct TemplatePiece {
  bool is_sequence;
  bool sequence_b;      // for sequences
  std::string special;  // for special tokens
  uint32_t type_id;
};

PostProcessorPtr make_bert_processing(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls);
PostProcessorPtr make_roberta_processing(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls, bool trim_offsets,
                                         bool add_prefix_space);
PostProcessorPtr make_template_processing(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair,
                                          std::map<std::string, SpecialTokenIds> special_tokens);
PostProcessorPtr make_byte_level_processing(bool trim_offsets, bool add_prefix_space);
PostProcessorPtr make_sequence_processing(std::vector<PostProcessorPtr> items);

// Rust post_process without truncation: the parts (A, and B for a pair) through `processor` (or
// concatenated when there is none) into `out`.
void post_process(const PostProcessor* processor, const SequenceTokens& a, const SequenceTokens* b, bool add_special_tokens, Encoding& out);

}  // namespace bert
