// PreTokenizedString: the input as a list of splits (NormalizedStrings), each possibly already
// tokenized (an added token matched in the text); pre-tokenizers split it further, models tokenize
// the splits. A port of Hugging Face's `PreTokenizedString` and of the `Pattern` / `split` machinery
// of its NormalizedString (find_matches, SplitDelimiterBehavior), which decides where pieces start
// and end and so every offset.
//
// Threading: value types; no shared state.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/text/normalized_string.h"

namespace bert {

// A token a model produced for one split: `start`/`end` are byte offsets into the split's normalized
// string. `lead`/`trail` count the whitespace characters at the ends of the token's string (what the
// ByteLevel / RoBERTa offset trimming looks at), filled only when a post-processor trims.
struct Token {
  int32_t id;
  uint32_t start, end;
  uint32_t lead = 0, trail = 0;
};

// Leading / trailing characters of a token's string that are 'Ġ' (GPT-2's space) or Rust whitespace:
// Token::lead / Token::trail.
std::pair<uint32_t, uint32_t> trim_counts_of(std::string_view token);

struct Split {
  NormalizedString normalized;
  bool tokenized = false;
  std::vector<Token> tokens;
};

// One piece of a find_matches result: [begin, end) bytes, and whether it is a match.
struct Piece {
  size_t begin, end;
  bool is_match;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Pattern::find_matches for a character predicate (Rust `impl Pattern for Fn(char) -> bool`).
void match_chars(const std::string& s, const std::function<bool(char32_t)>& pred, std::vector<Piece>& out);
// The same from a list of match ranges covering part of `s` (regex or literal matches, in order).
void pieces_from_matches(size_t len, const std::vector<std::pair<size_t, size_t>>& matches, std::vector<Piece>& out);
inline void invert(std::vector<Piece>& pieces) {
  for (Piece& p : pieces) p.is_match = !p.is_match;
}

class PreTokenizedString;

// NormalizedString::split: applies `behavior` to `pieces` (a find_matches result over `s`) and
// appends the resulting slices (empty ones included, as Rust does) to `out` as untokenized splits.
void split_normalized(const NormalizedString& s, const std::vector<Piece>& pieces, SplitBehavior behavior, std::vector<Split>& out);

class PreTokenizedString {
 public:
  void assign(std::string_view text);
  std::vector<Split>& splits() { return splits_; }
  const std::vector<Split>& splits() const { return splits_; }

  // Rust `PreTokenizedString::split`: every untokenized split goes through `fn`, which appends its
  // replacements to the vector it is given; empty results are dropped.
  void split(const std::function<void(NormalizedString&, std::vector<Split>&)>& fn);
  // Rust `normalize`: every untokenized split in place.
  void normalize(const std::function<void(NormalizedString&)>& fn);

 private:
  std::vector<Split> splits_;
  std::vector<Split> next_;
};

}  // namespace bert
