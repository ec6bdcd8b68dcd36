// Reading a Hugging Face tokenizer.json into the pipeline's components. Every component type the
// file names is either built (the ports in normalizers.h, pre_tokenizers.h, models.h,
// post_processors.h, decoders.h) or refused at load, naming it and listing what is supported, e.g.
//   tokenizer.json: pre_tokenizer "UnicodeScripts" is not supported (supported: BertPreTokenizer, ...)
// The file's "truncation" and "padding" sections are ignored: the engine decides both per request.
//
// Threading: free functions; no shared state.
#pragma once
#include <string>
#include <vector>

#include "engine/text/added_vocabulary.h"
#include "engine/text/pipeline.h"

namespace bert {

// The component types this build implements, per section (for refusals, /info and --help).
struct SupportedComponents {
  std::vector<std::string> normalizers, pre_tokenizers, models, post_processors, decoders;
};
const SupportedComponents& supported_components();

struct ParsedTokenizerJson {
  PipelineParts parts;
  std::vector<AddedTokenSpec> added;  // in file order (ids are assigned by AddedVocabulary::add)
  // The WordPiece settings, when the model is WordPiece (the BERT fast path needs them).
  bool wordpiece = false;
  size_t max_input_chars_per_word = 100;
  // BertNormalizer settings, when the normalizer is exactly one BertNormalizer.
  bool bert_normalizer = false;
  BertNormalizerOptions bert_options;
  bool bert_pre_tokenizer = false;  // the pre-tokenizer is exactly BertPreTokenizer
};

// Throws EngineError(kTokenizerInvalid) naming `name` (the file) and what is wrong or unsupported.
// parts.added is left empty: the caller adds `added` once the normalizer is known.
ParsedTokenizerJson parse_tokenizer_json(const std::string& name, const std::string& text);

}  // namespace bert
