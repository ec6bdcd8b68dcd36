// Fuzz target, one build per tokenizer kind (FUZZ_TOKENIZER_KIND: "roberta" byte-level BPE,
// "xlm-roberta" Unigram with the precompiled charsmap, "mpnet" WordPiece + RobertaProcessing): the
// general tokenizer.json pipeline on arbitrary bytes, single texts and pairs, with and without special
// tokens, with and without truncation (right and left), and decode. The tokenizer is the real fixture
// scripts/make_tokenizer_fixtures.mjs builds (BERT_SERVE_TOKENIZER_FIXTURES, default
// models/test/tokenizers; scripts/fuzz.sh makes it first).
//
// Input: byte 0 chooses the case, the rest is the text; with a pair, the text is cut at its first
// 0x1F byte (or in the middle):
//   bit 0 pair, bit 1 add_special_tokens, bits 2-6 max_length (0: none, else k + the special tokens
//   the case adds), bit 7 truncate on the left.
// Checked on every input, beyond "no crash, no sanitizer report":
//   - encode throws EngineError(kInvalidArgument) exactly when a text is invalid UTF-8, and nothing
//     else ever escapes;
//   - one id, type id, offset pair and special flag per token; ids in the vocabulary; offsets within
//     their text's UTF-16 length with start <= end; the special flags count what the post-processor
//     adds; RobertaProcessing's type ids are all 0;
//   - truncation keeps at most max_length tokens: for one text, the untruncated tokens' prefix (right)
//     or suffix (left), offsets included;
//   - byte-level BPE decodes a text without '<' (no special token lstrip can move a space into)
//     back to itself exactly;
//   - decode never throws and returns valid UTF-8, also on arbitrary id lists.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.h"
#include "engine/text/tokenizer.h"
#include "engine/text/unicode.h"
#include "fuzz_common.h"
#include "tokenizer_checks.h"

#ifndef FUZZ_TOKENIZER_KIND
#error "define FUZZ_TOKENIZER_KIND (roberta, xlm-roberta or mpnet)"
#endif

using bert::Encoding;
using bert::Tokenizer;
using bert_fuzz::check_decode;
using bert_fuzz::show;
using bert_fuzz::utf16_length;

namespace {

const Tokenizer& tokenizer() {
  static const std::shared_ptr<const Tokenizer> t = [] {
    const char* env = std::getenv("BERT_SERVE_TOKENIZER_FIXTURES");
    return Tokenizer::load(std::string(env && *env ? env : "models/test/tokenizers") + "/" + FUZZ_TOKENIZER_KIND);
  }();
  return *t;
}

// The tokens that came from the text(s), in order: every non-special token.
std::vector<size_t> content(const Encoding& e) {
  std::vector<size_t> out;
  for (size_t i = 0; i < e.size(); ++i)
    if (!e.special_tokens_mask[i]) out.push_back(i);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizer& t = tokenizer();
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const bool pair = mode & 1, specials = mode & 2, left = mode & 0x80;
  const size_t k = (mode >> 2) & 0x1F;
  const size_t added = specials ? t.added_tokens(pair) : 0;
  const size_t max_length = k == 0 ? 0 : k + added;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1), second;
  if (pair) {
    size_t cut = text.find('\x1f');
    if (cut == std::string_view::npos) cut = text.size() / 2;
    second = text.substr(std::min(cut + 1, text.size()));
    text = text.substr(0, cut);
  }
  const bool valid = bert::unicode::find_invalid_utf8(text) == std::string_view::npos &&
                     bert::unicode::find_invalid_utf8(second) == std::string_view::npos;
  bert::EncodeOptions o;
  o.add_special_tokens = specials;
  o.max_length = max_length;
  o.side = left ? bert::TruncationSide::kLeft : bert::TruncationSide::kRight;
  Encoding e;
  try {
    e = pair ? t.encode_pair(text, second, o) : t.encode(text, o);
  } catch (const bert::EngineError& err) {
    FUZZ_CHECK(err.code() == bert::ErrorCode::kInvalidArgument, err.what());
    FUZZ_CHECK(!valid, err.what());
    return 0;
  }
  FUZZ_CHECK(valid, "invalid UTF-8 was accepted");
  FUZZ_CHECK(e.ids.size() == e.offsets.size() && e.ids.size() == e.type_ids.size() && e.ids.size() == e.special_tokens_mask.size(),
             show(e));
  size_t special = 0;
  // (A pair's tokens index either text: bounded by the longer one.)
  const uint32_t len16 = pair ? std::max(utf16_length(text), utf16_length(second)) : utf16_length(text);
  for (size_t i = 0; i < e.size(); ++i) {
    FUZZ_CHECK(e.ids[i] >= 0 && static_cast<size_t>(e.ids[i]) < t.vocab_size(), show(e));
    FUZZ_CHECK(t.find_token(e.ids[i]) != nullptr, show(e));
    FUZZ_CHECK(e.offsets[i].first <= e.offsets[i].second, show(e));
    if (e.special_tokens_mask[i]) {
      ++special;
      continue;
    }
    FUZZ_CHECK(e.offsets[i].second <= len16, show(e));
    if (t.describe().post_processor == "RobertaProcessing") FUZZ_CHECK(e.type_ids[i] == 0, show(e));
  }
  FUZZ_CHECK(special == added, show(e) + " specials " + std::to_string(special));
  if (max_length != 0) FUZZ_CHECK(e.size() <= max_length, show(e));
  if (max_length != 0 && !pair) {
    bert::EncodeOptions full_o = o;
    full_o.max_length = 0;
    const Encoding full = t.encode(text, full_o);
    const std::vector<size_t> kept = content(e), all = content(full);
    FUZZ_CHECK(kept.size() <= all.size(), show(e) + " / " + show(full));
    const size_t shift = left ? all.size() - kept.size() : 0;
    for (size_t i = 0; i < kept.size(); ++i)
      FUZZ_CHECK(e.ids[kept[i]] == full.ids[all[i + shift]] && e.offsets[kept[i]] == full.offsets[all[i + shift]],
                 show(e) + " / " + show(full));
    FUZZ_CHECK(e.truncated == (kept.size() < all.size()), show(e) + " / " + show(full));
  }
  if (t.describe().decoder == "ByteLevel" && !pair && max_length == 0 && text.find('<') == std::string_view::npos) {
    std::vector<int64_t> ids;
    for (size_t i : content(e)) ids.push_back(e.ids[i]);
    FUZZ_CHECK(t.decode(ids, false, false) == text, "byte-level decode did not give the text back: " + show(e));
  }
  check_decode(t, e.ids);

  // decode of an arbitrary id list: the text read as int32s (negative, huge, holes included).
  std::vector<int64_t> ids(text.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t v;
    std::memcpy(&v, text.data() + 4 * i, 4);
    ids[i] = (mode & 0x80) ? v : (v & 0xFFFF);
  }
  check_decode(t, ids);
  return 0;
}
