// Reading a tokenizer's files from disk: a tokenizer.json (the source of truth, preferred), or an old
// BERT directory's vocab.txt, with tokenizer_config.json / special_tokens_map.json beside either
// (role token names, model_max_length, clean_up_tokenization_spaces; for vocab.txt also the BERT
// normalizer settings). The result is the files' text; tokenizer.cc builds the tokenizer from it.
//
// Threading: free functions with no shared state; safe from any thread.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/text/tokenizer.h"

namespace bert {

// The bytes of a tokenizer's files, each with the name its messages use: what read_tokenizer_sources
// reads from disk, and the in-memory entry point of the parsers (tests, fuzzing).
struct TokenizerFile {
  std::string name;
  std::string text;
};
struct TokenizerSources {
  bool tokenizer_json = false;  // `main` is a tokenizer.json; otherwise a vocab.txt
  TokenizerFile main;
  std::optional<TokenizerFile> tokenizer_config;    // tokenizer_config.json beside it
  std::optional<TokenizerFile> special_tokens_map;  // special_tokens_map.json beside it
};

// `path` is a vocab.txt, a tokenizer.json, or a directory holding either (tokenizer.json preferred).
// Throws EngineError: kModelNotFound when it does not exist, kTokenizerInvalid when a file is
// unreadable.
TokenizerSources read_tokenizer_sources(const std::string& path);

// vocab.txt: one token per line, line number = id, trailing whitespace trimmed (Hugging Face's
// reader). Throws EngineError(kTokenizerInvalid) when empty.
std::vector<std::string> parse_vocab_txt(const TokenizerFile& f);

// What tokenizer_config.json / special_tokens_map.json say, applied to `c`: role token names
// (present keys only; `named` collects which), model_max_length, clean_up_tokenization_spaces, and
// with `bert_settings` do_lower_case / strip_accents / tokenize_chinese_chars. Throws
// EngineError(kTokenizerInvalid) on malformed JSON.
void read_tokenizer_config(const TokenizerSources& s, TokenizerConfig& c, bool bert_settings, std::vector<std::string>* named);

}  // namespace bert
