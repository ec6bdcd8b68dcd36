// Reading a tokenizer from disk: vocab.txt (+ tokenizer_config.json / special_tokens_map.json beside
// it), a Hugging Face tokenizer.json, or a model directory holding either. The result is a plain
// TokenizerSpec; building the fast lookup structures is Tokenizer's job.
//
// Threading: free functions with no shared state; safe from any thread.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/text/tokenizer.h"

namespace bert {

// A token matched whole in the raw text before normalization (Hugging Face "added_tokens" with
// normalized=false). Special ones are dropped by decode(skip_special_tokens).
struct AddedTokenSpec {
  std::string content;
  int64_t id = -1;
  bool special = true;
  bool lstrip = false;  // also swallow the whitespace before the match
  bool rstrip = false;  // also swallow the whitespace after the match
};

struct TokenizerSpec {
  std::vector<std::string> vocab;  // id -> token; empty strings are holes in the id space
  TokenizerConfig config;
  std::vector<AddedTokenSpec> added;
  std::string source;  // the file the tokenizer came from, for messages
};

// Throws EngineError: kModelNotFound when `path` does not exist, kTokenizerInvalid when a file is
// unreadable, malformed or describes something other than a BERT WordPiece tokenizer.
TokenizerSpec read_tokenizer_files(const std::string& path);

// The bytes of a tokenizer's files, each with the name its messages use: what read_tokenizer_files
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

// Throws EngineError(kTokenizerInvalid) as read_tokenizer_files.
TokenizerSpec parse_tokenizer_files(const TokenizerSources& sources);

// The special tokens of a vocab.txt tokenizer: the five role tokens of `config` that the vocabulary has.
std::vector<AddedTokenSpec> role_special_tokens(const std::vector<std::string>& vocab, const TokenizerConfig& config);

}  // namespace bert
