// Regex: the patterns of tokenizer.json's Split pre-tokenizer and Replace normalizer/decoder, run by
// Oniguruma, the engine Hugging Face's `tokenizers` uses for them (its `SysRegex`), with the same
// syntax (ONIG_SYNTAX_DEFAULT, UTF-8, no options) and the same iteration over matches as the Rust
// `onig` crate's find_iter (an empty match right after the previous match is skipped by one
// character). A String pattern is a literal: it is searched as such, which is what the escaped
// regex Rust compiles for it matches.
//
// Character-class caveat: Debian's libonig is Oniguruma 6.9.8, whose Unicode tables are older than
// those of the Oniguruma built into `tokenizers` 0.23.2: on \p{L} / \p{N} / \s alone the two disagree
// on 9,392 code points (mostly Unicode 15-16 additions: CJK extensions H and I, new scripts). A
// pattern using Unicode properties can therefore split text with such characters differently. The
// GPT-2 pattern of the ByteLevel pre-tokenizer, the one real checkpoints use, does not go through here:
// byte_level.cc matches it with classes read off `tokenizers` itself (docs/tokenizer.md has the
// differential numbers).
//
// Threading: a compiled Regex is immutable; find_all is const and safe from any thread (each call
// uses its own match region).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bert {

class Regex {
 public:
  // Throws EngineError(kTokenizerInvalid) naming `what` when the pattern does not compile.
  static std::shared_ptr<const Regex> compile(const std::string& pattern, bool literal, const std::string& what);
  ~Regex();

  // Every match, in order, as byte ranges of `text` (valid UTF-8).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }
  bool literal() const { return literal_; }

 private:
  Regex() = default;
  std::string pattern_;
  bool literal_ = false;
  void* regex_ = nullptr;  // OnigRegex
};

}  // namespace bert
