// AddedVocabulary: tokenizer.json's "added_tokens" (special tokens such as [CLS] / <mask>, and tokens
// a user added), matched in the text before the model sees it. A port of `tokenizers`'
// AddedVocabulary: ids come from the model's vocabulary when it has the token, else the next free id
// (the ids written in the file are not used, as in Rust); tokens with normalized=false are found in
// the raw text, then the rest is normalized piece by piece and tokens with normalized=true are found
// in the normalized text (in their normalized form); leftmost-longest matching; single_word,
// lstrip and rstrip as the Rust find_matches applies them.
//
// Threading: built once at load, then immutable; extract_and_normalize is const and safe from any
// thread.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/text/models.h"
#include "engine/text/normalizers.h"
#include "engine/text/pre_tokenized.h"

namespace bert {

struct AddedTokenSpec {
  std::string content;
  bool special = false;
  bool normalized = true;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
};

class AddedVocabulary {
 public:
  // Rust add_tokens, in file order. `normalizer` may be null.
  void add(const std::vector<AddedTokenSpec>& tokens, const Model& model, const Normalizer* normalizer);

  // Splits `text` into added tokens (tokenized splits) and the normalized rest (Rust
  // extract_and_normalize). `trim_counts`: fill the tokens' lead/trail (see Token).
  void extract_and_normalize(const Normalizer* normalizer, std::string_view text, PreTokenizedString& out, bool trim_counts) const;

  int32_t token_to_id(std::string_view content) const;  // -1 when not an added token
  // The string decode() uses for an added id (its normalized form when normalization changed it).
  const std::string* id_to_token(int32_t id) const;
  bool is_special_content(std::string_view content) const;
  bool is_special_id(int32_t id) const;
  const AddedTokenSpec* spec_of(int32_t id) const;
  size_t id_space() const { return id_space_; }
  bool empty() const { return by_id_.empty(); }
  // Every added token, in id order.
  std::vector<std::pair<int32_t, const AddedTokenSpec*>> tokens() const;
  // True when no token is normalized or single_word (the BERT fast path can match them itself).
  bool raw_only() const;

 private:
  struct Trie {  // patterns -> id, over bytes
    struct Node {
      std::unordered_map<unsigned char, uint32_t> next;
      int32_t id = -1;
    };
    std::vector<Node> nodes = std::vector<Node>(1);
    bool first_byte[256] = {};
    void insert(const std::string& pattern, int32_t id);
    bool empty() const { return nodes.size() == 1; }
  };
  void rebuild();
  void split_with(const Trie& trie, NormalizedString& s, std::vector<Split>& out, bool trim_counts) const;

  std::unordered_map<std::string, int32_t> by_content_;
  std::unordered_map<int32_t, AddedTokenSpec> by_id_;
  std::unordered_map<int32_t, std::string> normalized_form_;
  std::unordered_set<std::string> special_;
  Trie raw_, normalized_;
  size_t id_space_ = 0;
};

}  // namespace bert
