// Tokenizer: a Hugging Face tokenizer.json (or an old BERT vocab.txt) run natively, token for token
// and offset for offset as the `tokenizers` library runs it: WordPiece (BERT, DistilBERT, ELECTRA,
// MPNet), byte-level BPE (RoBERTa, GPT-2) and Unigram with SentencePiece's precompiled charsmap
// (XLM-RoBERTa), with their normalizers, pre-tokenizers, added tokens, post-processors (special
// tokens, type ids, pair assembly), truncation and decoders. docs/tokenizer.md lists what is
// implemented and how parity is checked.
//
// A tokenizer.json that is exactly BERT's pipeline runs on a one-pass fast path (bert_fast_path.h);
// everything else on the general pipeline (pipeline.h). Both give the same answers.
//
// Threading: a loaded Tokenizer is immutable; encode/decode are const and may run concurrently from
// any number of threads. Share it as std::shared_ptr<const Tokenizer>.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/text/encoding.h"

namespace bert {

struct TokenizerSources;  // tokenizer_files.h

struct TokenizerConfig {
  // The BERT normalizer of a vocab.txt directory (tokenizer_config.json's do_lower_case, ...); for a
  // tokenizer.json with a BertNormalizer, its settings.
  bool lowercase = true;
  bool strip_accents = true;  // HF: null follows `lowercase`
  bool handle_chinese_chars = true;
  bool clean_text = true;
  size_t max_input_chars_per_word = 100;
  size_t model_max_length = 512;
  // Role tokens by name ("" where the tokenizer has none): from tokenizer_config.json /
  // special_tokens_map.json, else found in the tokenizer (the post-processor's special tokens, the
  // model's unk, [MASK] / <mask>, ...).
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]", mask_token = "[MASK]";
  std::string bos_token, eos_token;
  // transformers' decode() default (tokenizer_config.json's clean_up_tokenization_spaces; without
  // one: true for WordPiece, as BERT checkpoints say, false for BPE and Unigram).
  bool clean_up_tokenization_spaces = true;
};

enum class TruncationSide { kRight, kLeft };

struct EncodeOptions {
  bool add_special_tokens = true;
  // 0: no truncation. Otherwise the encoding, special tokens included, keeps at most this many
  // tokens: one text is cut on `side`; a pair longest-first (tokens come off the longer text until
  // the pair fits), each text on `side`, as Hugging Face's TruncationStrategy::LongestFirst.
  size_t max_length = 0;
  TruncationSide side = TruncationSide::kRight;
};

// What a tokenizer is made of, for /info and the JS Tokenizer.info.
struct TokenizerDescription {
  std::string source;  // the file
  std::string model, normalizer, pre_tokenizer, post_processor, decoder;
  bool fast_path = false;  // BERT's one-pass path
};

class Tokenizer {
 public:
  // `path` is a tokenizer.json, a vocab.txt (tokenizer_config.json beside either is read when
  // present), or a directory holding tokenizer.json or vocab.txt (tokenizer.json preferred). Throws
  // EngineError(kTokenizerInvalid / kModelNotFound) naming the file and what was expected.
  static std::shared_ptr<const Tokenizer> load(const std::string& path);
  // From the files' text (read_tokenizer_sources: the in-memory entry point of load()).
  static std::shared_ptr<const Tokenizer> from_sources(const TokenizerSources& sources);
  // A BERT WordPiece tokenizer from an in-memory vocabulary (id = index) and config; used by tests.
  static std::shared_ptr<const Tokenizer> from_vocab(std::vector<std::string> vocab, TokenizerConfig config);

  // Encodes UTF-8 text (invalid UTF-8 is rejected with EngineError(kInvalidArgument)).
  Encoding encode(std::string_view text, const EncodeOptions& options) const;
  Encoding encode_pair(std::string_view text, std::string_view pair, const EncodeOptions& options) const;
  // encode(text, {add_special_tokens, max_length, right}).
  Encoding encode(std::string_view text, bool add_special_tokens = true, size_t max_length = 0) const;
  // Pre-tokenized ids (no offsets) through truncation and the post-processor.
  Encoding encode_ids(const std::vector<int64_t>& ids, const EncodeOptions& options) const;
  // How many tokens the post-processor adds to one text / a pair.
  size_t added_tokens(bool pair) const;

  // As transformers' fast tokenizer decode(): ids without a token are skipped, special tokens too
  // when skip_special_tokens, the decoder joins the rest (byte-level BPE: the bytes back to text;
  // WordPiece: "##" glued; Metaspace: '▁' back to spaces), then, when clean_up_tokenization_spaces,
  // transformers' clean_up_tokenization (" ." -> ".", " n't" -> "n't", ...).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens, bool clean_up_tokenization_spaces) const;
  // decode() with the tokenizer's own clean_up_tokenization_spaces (config()).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  // transformers' convert_tokens_to_string for a fast tokenizer: the decoder over token strings, e.g.
  // {"new", "##ton", "."} -> "newton." (WordPiece), {"Ġnew", "ton"} -> " newton" (byte-level).
  std::string convert_tokens_to_string(const std::vector<std::string_view>& tokens) const;

  const std::string& id_to_token(int64_t id) const;   // the unk token's text for ids with no token
  const std::string* find_token(int64_t id) const;    // nullptr for ids with no token
  int64_t token_to_id(std::string_view token) const;  // -1 when absent (added tokens first)
  bool is_special(int64_t id) const;                  // a special added token

  size_t vocab_size() const;  // the id space: highest id + 1, added tokens included
  const TokenizerConfig& config() const;
  TokenizerDescription describe() const;
  // Role token ids; -1 where the tokenizer has no such token.
  int64_t cls_id() const;
  int64_t sep_id() const;
  int64_t pad_id() const;
  int64_t mask_id() const;
  int64_t unk_id() const;

  ~Tokenizer();
  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bert
