// Fuzz target: Tokenizer::encode (with and without [CLS]/[SEP], with and without truncation) and
// Tokenizer::decode, on four tokenizers (the real uncased and cased BERT ones, uncased without accent
// stripping, and a tiny one with added tokens, lstrip/rstrip and clean_text off).
//
// Input: byte 0 chooses the case, the rest is the text (and, read as little-endian int32s, an id
// list for decode):
//   bits 0-1 tokenizer, bit 2 add_special_tokens, bits 3-7 max_length (0: none, else k + 1).
// Checked on every input, beyond "no crash, no sanitizer report":
//   - encode throws EngineError(kInvalidArgument) exactly when the text is invalid UTF-8, and
//     nothing else ever escapes;
//   - ids are in the vocabulary; one offset pair per id; every offset within the text's UTF-16
//     length, start <= end, starts and ends non-decreasing over the non-added tokens; added
//     [CLS]/[SEP] first/last at {0, 0};
//   - truncation keeps max_length tokens: the untruncated encoding's prefix plus [SEP];
//     without specials, the same tokens as with them, less [CLS]/[SEP];
//   - decode never throws and returns valid UTF-8.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.h"
#include "engine/text/tokenizer.h"
#include "engine/text/tokenizer_files.h"
#include "engine/text/unicode.h"
#include "fuzz_common.h"
#include "tokenizer_checks.h"

using bert::Encoding;
using bert::Tokenizer;
using bert_fuzz::check_decode;
using bert_fuzz::show;
using bert_fuzz::utf16_length;

namespace {

// A small tokenizer.json exercising what the real ones do not: added tokens (special and not,
// lstrip/rstrip, sharing prefixes), clean_text and Chinese handling off, a short word limit.
constexpr const char kTinyTokenizerJson[] = R"({
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "special": true, "normalized": false},
    {"id": 1, "content": "[UNK]", "special": true, "normalized": false},
    {"id": 2, "content": "[CLS]", "special": true, "normalized": false},
    {"id": 3, "content": "[SEP]", "special": true, "normalized": false},
    {"id": 4, "content": "[MASK]", "special": true, "normalized": false, "lstrip": true},
    {"id": 20, "content": "<x>", "special": false, "normalized": false, "rstrip": true},
    {"id": 21, "content": "<xy>", "special": true, "normalized": false, "lstrip": true, "rstrip": true},
    {"id": 22, "content": "\u00e9\u00e9", "special": false, "normalized": false}
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": false, "handle_chinese_chars": false,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 6,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 5, "b": 6, "ab": 7,
                      "##a": 8, "##b": 9, "##ab": 10, ".": 11, "'": 12, "n": 13, "##t": 14, "\u00e9": 15,
                      "##\u00e9": 16, "\u6771": 17, "##\u6771": 18, "x": 19, "s": 23, "##s": 24}}
})";

struct Tokenizers {
  std::shared_ptr<const Tokenizer> t[4];
  Tokenizers() {
    using bert_fuzz::shared_data;
    t[0] = Tokenizer::load(shared_data("bert-base-uncased-tokenizer.json"));
    std::vector<std::string> cased;
    {
      auto s = bert::read_tokenizer_sources(shared_data("bert-base-cased-vocab.txt"));
      bert::TokenizerConfig c;
      c.lowercase = false;
      c.strip_accents = false;
      t[1] = Tokenizer::from_vocab(bert::parse_vocab_txt(s.main), c);
    }
    {
      auto s = bert::read_tokenizer_sources(shared_data("bert-base-uncased-vocab.txt"));
      bert::TokenizerConfig c;
      c.strip_accents = false;
      t[2] = Tokenizer::from_vocab(bert::parse_vocab_txt(s.main), c);
    }
    bert::TokenizerSources s;
    s.tokenizer_json = true;
    s.main = {"tiny/tokenizer.json", kTinyTokenizerJson};
    t[3] = Tokenizer::from_sources(s);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Tokenizers all;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const Tokenizer& t = *all.t[mode & 3];
  const bool specials = mode & 4;
  const size_t max_length = (mode >> 3) == 0 ? 0 : (mode >> 3) + 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool valid = bert::unicode::find_invalid_utf8(text) == std::string_view::npos;

  Encoding e;
  try {
    e = t.encode(text, specials, max_length);
  } catch (const bert::EngineError& err) {
    FUZZ_CHECK(err.code() == bert::ErrorCode::kInvalidArgument, err.what());
    FUZZ_CHECK(!valid || (specials && max_length < 2), err.what());
    e = {};
  }
  if (valid && !(specials && max_length != 0 && max_length < 2)) {
    FUZZ_CHECK(e.ids.size() == e.offsets.size(), show(e));
    FUZZ_CHECK(e.has_special_tokens == specials, show(e));
    const uint32_t len16 = utf16_length(text);
    const size_t first = specials ? 1 : 0, last = specials ? e.size() - 1 : e.size();
    if (specials) {
      FUZZ_CHECK(e.size() >= 2 && e.ids.front() == t.cls_id() && e.ids.back() == t.sep_id(), show(e));
      FUZZ_CHECK(e.offsets.front() == std::make_pair(0u, 0u) && e.offsets.back() == std::make_pair(0u, 0u), show(e));
    }
    for (size_t i = 0; i < e.size(); ++i) {
      FUZZ_CHECK(e.ids[i] >= 0 && static_cast<size_t>(e.ids[i]) < t.vocab_size(), show(e));
      FUZZ_CHECK(t.find_token(e.ids[i]) != nullptr, show(e));
      FUZZ_CHECK(e.offsets[i].first <= e.offsets[i].second, show(e));
      FUZZ_CHECK(e.offsets[i].second <= len16, show(e) + " utf16 length " + std::to_string(len16));
      if (i > first && i < last) {
        FUZZ_CHECK(e.offsets[i].first >= e.offsets[i - 1].first, show(e));
        FUZZ_CHECK(e.offsets[i].second >= e.offsets[i - 1].second, show(e));
      }
    }
    if (max_length != 0) {
      FUZZ_CHECK(e.size() <= max_length, show(e));
      const Encoding full = t.encode(text, specials, 0);
      const size_t body = full.size() - 2 * first, kept = e.size() - 2 * first;
      FUZZ_CHECK(e.truncated == (body > max_length - 2 * first), show(e) + " / " + show(full));
      FUZZ_CHECK(kept == std::min(body, max_length - 2 * first), show(e) + " / " + show(full));
      for (size_t i = 0; i < e.size() - first; ++i)
        FUZZ_CHECK(e.ids[i] == full.ids[i] && e.offsets[i] == full.offsets[i], show(e) + " / " + show(full));
    } else {
      FUZZ_CHECK(!e.truncated, show(e));
      const Encoding other = t.encode(text, !specials, 0);
      const Encoding& with = specials ? e : other;
      const Encoding& without = specials ? other : e;
      FUZZ_CHECK(with.size() == without.size() + 2, show(with) + " / " + show(without));
      for (size_t i = 0; i < without.size(); ++i)
        FUZZ_CHECK(with.ids[i + 1] == without.ids[i] && with.offsets[i + 1] == without.offsets[i], show(with) + " / " + show(without));
    }
    check_decode(t, e.ids);
  }

  // decode of an arbitrary id list: the text read as int32s (negative, huge, holes included).
  std::vector<int64_t> ids(text.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t v;
    std::memcpy(&v, text.data() + 4 * i, 4);
    ids[i] = (mode & 0x80) ? v : (v & 0x7FFF);  // mostly in or near the vocabulary
  }
  check_decode(t, ids);
  return 0;
}
