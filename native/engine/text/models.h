// tokenizer.json's models: each turns one pre-tokenized piece into tokens (ids with byte offsets
// into the piece). Ports of `tokenizers`' WordPiece, BPE (with merges by rank, continuing_subword_
// prefix, end_of_word_suffix, fuse_unk, byte_fallback, ignore_merges; dropout is refused: inference
// must be deterministic) and Unigram (Viterbi over the vocabulary's log-probabilities, unknown
// characters fused into one unk, byte_fallback).
//
// Threading: a built model is immutable; tokenize() is const and safe from any thread (BPE and
// Unigram keep a per-thread cache of recent words, as `tokenizers` does).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/text/pre_tokenized.h"

namespace bert {

class Vocab;

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of `piece` (valid UTF-8, non-empty). With `trim_counts`, each token's
  // lead/trail counts its string's leading/trailing 'Ġ' or whitespace characters (what the ByteLevel
  // and RoBERTa post-processors trim offsets by). Throws EngineError(kInvalidArgument) where Hugging
  // Face's model fails (an unknown character and no unk token).
  virtual void tokenize(std::string_view piece, std::vector<Token>& out, bool trim_counts) const = 0;
  // The model's own vocabulary (added tokens are the AddedVocabulary's).
  virtual int32_t token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(int32_t id) const = 0;  // nullptr: no such id
  virtual size_t vocab_size() const = 0;                         // Rust get_vocab_size()
  virtual size_t id_space() const = 0;                           // highest id + 1
  virtual std::optional<std::string> unk_token() const = 0;
  virtual std::string describe() const = 0;
};
using ModelPtr = std::shared_ptr<const Model>;

struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
};
// `vocab`: id -> token, empty strings are holes. Throws EngineError(kTokenizerInvalid) naming `what`.
ModelPtr make_wordpiece_model(std::vector<std::string> vocab, const WordPieceOptions& o, const std::string& what);
// The vocabulary of a WordPiece model (nullptr for other models): the BERT fast path looks tokens up
// in it directly.
const Vocab* wordpiece_vocab(const Model& model);

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};
ModelPtr make_bpe_model(std::vector<std::pair<std::string, uint32_t>> vocab, std::vector<std::pair<std::string, std::string>> merges,
                        const BpeOptions& o, const std::string& what);

struct UnigramOptions {
  std::optional<size_t> unk_id;
  bool byte_fallback = false;
};
ModelPtr make_unigram_model(std::vector<std::pair<std::string, double>> vocab, const UnigramOptions& o, const std::string& what);

}  // namespace bert
