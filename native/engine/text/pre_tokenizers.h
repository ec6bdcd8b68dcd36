// tokenizer.json's pre-tokenizers: each splits the untokenized pieces of a PreTokenizedString
// further. Ports of `tokenizers`' BertPreTokenizer, ByteLevel, Metaspace, Whitespace,
// WhitespaceSplit, Punctuation, Split, Digits, CharDelimiterSplit and Sequence.
//
// Threading: a built pre-tokenizer is immutable; pre_tokenize() is const and safe from any thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/text/pre_tokenized.h"
#include "engine/text/regex.h"

namespace bert {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenizedString& p) const = 0;
  virtual std::string describe() const = 0;
};
using PreTokenizerPtr = std::shared_ptr<const PreTokenizer>;

enum class PrependScheme { kFirst, kNever, kAlways };

PreTokenizerPtr make_bert_pre_tokenizer();
PreTokenizerPtr make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
PreTokenizerPtr make_metaspace_pre_tokenizer(std::string replacement, PrependScheme scheme, bool split);
PreTokenizerPtr make_whitespace_pre_tokenizer();
PreTokenizerPtr make_whitespace_split_pre_tokenizer();
PreTokenizerPtr make_punctuation_pre_tokenizer(SplitBehavior behavior);
PreTokenizerPtr make_split_pre_tokenizer(std::shared_ptr<const Regex> pattern, SplitBehavior behavior, bool invert);
PreTokenizerPtr make_digits_pre_tokenizer(bool individual_digits);
PreTokenizerPtr make_char_delimiter_pre_tokenizer(char32_t delimiter);
PreTokenizerPtr make_sequence_pre_tokenizer(std::vector<PreTokenizerPtr> items);

}  // namespace bert
