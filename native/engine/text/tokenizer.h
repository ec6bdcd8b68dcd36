// BERT WordPiece tokenizer, token-for-token equal to Hugging Face's fast BertTokenizer
// (BertNormalizer + BertPreTokenizer + WordPiece, special tokens written in the text kept whole).
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

namespace bert {

struct TokenizerSpec;  // tokenizer_files.h

struct Encoding {
  std::vector<int64_t> ids;
  // Per token [start, end) in the ORIGINAL text, as UTF-16 code-unit indices (JavaScript string
  // indices). Added [CLS]/[SEP] get {0, 0}, as Hugging Face reports them.
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  bool has_special_tokens = false;  // [CLS] ... [SEP] were added
  bool truncated = false;
  size_t size() const { return ids.size(); }
};

struct TokenizerConfig {
  bool lowercase = true;
  bool strip_accents = true;          // HF: null follows `lowercase`
  bool handle_chinese_chars = true;
  bool clean_text = true;
  size_t max_input_chars_per_word = 100;
  size_t model_max_length = 512;
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]",
              pad_token = "[PAD]", mask_token = "[MASK]";
  std::string continuing_prefix = "##";
  // The WordPiece decoder's own per-token cleanup (tokenizer.json "decoder": {"cleanup": ...}; true
  // for every BERT tokenizer transformers converts). Fast tokenizers apply it in decode() whatever
  // clean_up_tokenization_spaces says.
  bool decoder_cleanup = true;
};

class Tokenizer {
 public:
  // `path` is a vocab.txt (tokenizer_config.json beside it is read when present), a tokenizer.json,
  // or a directory holding tokenizer.json or vocab.txt (tokenizer.json preferred). Throws
  // EngineError(kTokenizerInvalid / kModelNotFound) naming the file and what was expected.
  static std::shared_ptr<const Tokenizer> load(const std::string& path);
  // From an in-memory vocabulary (one token per entry, id = index) and config; used by tests.
  static std::shared_ptr<const Tokenizer> from_vocab(std::vector<std::string> vocab, TokenizerConfig config);
  // From parsed files (parse_tokenizer_files: the in-memory entry point of load()). Throws as load().
  static std::shared_ptr<const Tokenizer> from_spec(TokenizerSpec&& spec);

  // Encodes UTF-8 text. Invalid UTF-8 is rejected with EngineError(kInvalidArgument).
  // max_length == 0: no truncation. Otherwise the result (specials included) is cut to max_length
  // tokens, dropping from the end and keeping the trailing [SEP]; `truncated` is set.
  Encoding encode(std::string_view utf8, bool add_special_tokens = true, size_t max_length = 0) const;

  // As transformers' BertTokenizerFast.decode: special tokens dropped when skip_special_tokens; the
  // WordPiece decoder (tokens joined by spaces, "##" continuations glued, and when
  // config().decoder_cleanup its per-token cleanup: " ." -> ".", " n't" -> "n't", ...); then, when
  // clean_up_tokenization_spaces, transformers' clean_up_tokenization over the whole string (which
  // also turns " ' " into "'" across tokens).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false,
                     bool clean_up_tokenization_spaces = true) const;

  // transformers' convert_tokens_to_string for a fast BERT tokenizer: the WordPiece decoder over token
  // strings (no string-level cleanup), e.g. {"new", "##ton", "."} -> "newton.".
  std::string convert_tokens_to_string(const std::vector<std::string_view>& tokens) const;

  const std::string& id_to_token(int64_t id) const;  // "[UNK]" text for out-of-range ids
  const std::string* find_token(int64_t id) const;    // nullptr for ids with no token
  int64_t token_to_id(std::string_view token) const;  // -1 when absent
  bool is_special(int64_t id) const;

  size_t vocab_size() const;
  const TokenizerConfig& config() const;
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
