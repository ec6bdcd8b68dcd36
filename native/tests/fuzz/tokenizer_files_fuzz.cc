// Fuzz target: the tokenizer file parsers (Tokenizer::from_sources, the in-memory entry point of
// Tokenizer::load: tokenizer.json with every component type, vocab.txt, the config files beside
// them) and building a Tokenizer from what they accept.
//
// Input: byte 0 says which files there are, the rest holds them in order, separated by 0x1E:
//   bit 0: the main file is a tokenizer.json (else a vocab.txt); bit 1: a tokenizer_config.json
//   follows; bit 2: a special_tokens_map.json follows.
// Checked: only EngineError(kTokenizerInvalid) escapes (never a JSON library exception, a
// std::length_error, ...); a tokenizer that loads encodes a fixed text and the input's tail (as
// text), and decodes its own ids, without breaking.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.h"
#include "engine/text/tokenizer.h"
#include "engine/text/tokenizer_files.h"
#include "engine/text/unicode.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<std::string> parts;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int k = 0; k < 3; ++k) {
    const size_t sep = k == 2 ? std::string_view::npos : rest.find('\x1e');
    parts.emplace_back(rest.substr(0, sep));
    if (sep == std::string_view::npos) {
      rest = {};
      break;
    }
    rest.remove_prefix(sep + 1);
  }
  bert::TokenizerSources s;
  s.tokenizer_json = mode & 1;
  s.main = {s.tokenizer_json ? "fuzz/tokenizer.json" : "fuzz/vocab.txt", parts[0]};
  size_t next = 1;
  if ((mode & 2) && next < parts.size()) s.tokenizer_config = bert::TokenizerFile{"fuzz/tokenizer_config.json", parts[next++]};
  if ((mode & 4) && next < parts.size()) s.special_tokens_map = bert::TokenizerFile{"fuzz/special_tokens_map.json", parts[next++]};

  std::shared_ptr<const bert::Tokenizer> t;
  try {
    t = bert::Tokenizer::from_sources(s);
  } catch (const bert::EngineError& e) {
    FUZZ_CHECK(e.code() == bert::ErrorCode::kTokenizerInvalid, e.what());
    return 0;
  }
  const std::string_view tail = parts.back();
  for (const std::string_view text : {std::string_view("Hello [MASK], w\xc3\xb6rld! \xe6\x9d\xb1 don't ##s"), tail}) {
    if (bert::unicode::find_invalid_utf8(text) != std::string_view::npos) continue;
    for (const bool specials : {false, true}) {
      bert::Encoding e;
      try {
        e = t->encode(text, specials, specials ? 8 : 0);
      } catch (const bert::EngineError& err) {
        // What Hugging Face also fails on: a character the model cannot represent and no unk
        // token; room for fewer tokens than the post-processor adds.
        FUZZ_CHECK(err.code() == bert::ErrorCode::kInvalidArgument, err.what());
        continue;
      }
      FUZZ_CHECK(e.ids.size() == e.offsets.size(), "sizes");
      for (const int64_t id : e.ids) FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < t->vocab_size(), std::to_string(id));
      for (const bool skip : {false, true}) {
        const std::string d = t->decode(e.ids, skip, true);
        (void)d;
      }
    }
  }
  return 0;
}
