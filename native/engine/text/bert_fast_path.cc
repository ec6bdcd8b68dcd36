// Hugging Face's fast BERT pipeline in ONE pass over the input, with no
// intermediate normalized string:
//   added tokens (raw text) -> BertNormalizer (per char) -> BertPreTokenizer (split) -> WordPiece.
// Every step of that pipeline is per character (clean_text, Chinese spacing, Mn removal, per-char
// lowercase, whitespace/punctuation splitting) except NFD's canonical reordering, which sorts the
// combining marks between two starters by combining class; so each input character is normalized
// and routed into the current word as it is read, and only a run of combining marks waits (in
// Scratch::pending) for the next starter. Each normalized character carries a UTF-16 range of the
// input; a token's offsets are [start of its first character, end of its last].
//
// Alignment rule (what Hugging Face's NormalizedString::transform does with the (char, change)
// pairs of unicode-normalization-alignments' nfd()): the outputs that start a character's
// decomposition take, in OUTPUT order, the ranges of the input characters in INPUT order; the other
// outputs of a decomposition take the range last taken. Without reordering every output simply
// keeps its own character's range; after a reorder a kept mark may take its neighbour's range.
#include "engine/text/bert_fast_path.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

#include "engine/errors.h"
#include "engine/text/unicode.h"

namespace bert {

namespace {

struct AddedToken {
  std::string content;
  int32_t id;
  uint32_t utf16_len;
  bool lstrip, rstrip;
};

// What an ASCII input character does; precomputed per tokenizer from the general Unicode path so
// the two cannot disagree.
enum AsciiKind : uint8_t { kWord, kSplit, kDrop, kPunct };

struct Span {
  uint32_t start, end;
};

// A combining mark waiting for canonical reordering.
struct PendingMark {
  char32_t c;
  uint8_t ccc;
  bool first;  // the first code point of its character's decomposition
};

// A byte buffer that grows (zero-filling only then) but is otherwise appended to without the
// per-call zero fill of std::string::resize; it is reused for every word.
class WordBuffer {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }
  char* extend(size_t n) {
    if (size_ + n > storage_.size()) storage_.resize(std::max(storage_.size() * 2, size_ + n + 64));
    char* at = &storage_[size_];
    size_ += n;
    return at;
  }
  void push_back(char c) { *extend(1) = c; }
  void append_utf8(char32_t cp) {
    char tmp[4];
    size_t n = 0;
    if (cp < 0x80) {
      tmp[n++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
      tmp[n++] = static_cast<char>(0xC0 | (cp >> 6));
      tmp[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      tmp[n++] = static_cast<char>(0xE0 | (cp >> 12));
      tmp[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      tmp[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      tmp[n++] = static_cast<char>(0xF0 | (cp >> 18));
      tmp[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      tmp[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      tmp[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    std::memcpy(extend(n), tmp, n);
  }
  std::string_view view() const { return std::string_view(storage_.data(), size_); }

 private:
  std::string storage_;
  size_t size_ = 0;
};

// Per-thread working memory for encode(): reused across calls so a warm thread allocates only the
// output vectors.
struct Scratch {
  WordBuffer word;          // normalized UTF-8 bytes of the word being built
  std::vector<Span> spans;  // per byte of `word`: the input character's UTF-16 range (see `simple`)
  size_t chars = 0;         // code points in `word`
  // While every byte of `word` is an ASCII character copied from consecutive input positions (the
  // common case), spans are implicit: byte i came from [base + i, base + i + 1).
  bool simple = true;
  uint32_t base = 0;

  // NFD state (strip_accents only): marks since the last starter, and the ranges of the input
  // characters whose first decomposition output has not been emitted yet (see the alignment rule).
  std::vector<PendingMark> pending;
  std::vector<Span> ranges;
  size_t ranges_head = 0;
  Span last_range{0, 0};

  void reset() {
    clear();
    pending.clear();
    ranges.clear();
    ranges_head = 0;
  }
  Span take_range(bool first) {
    if (first) {
      last_range = ranges[ranges_head++];
      if (ranges_head == ranges.size()) {
        ranges.clear();
        ranges_head = 0;
      }
    }
    return last_range;
  }

  void clear() {
    word.clear();
    spans.clear();
    chars = 0;
    simple = true;
  }
  void materialize() {
    spans.resize(word.size());
    for (size_t i = 0; i < word.size(); ++i) spans[i] = {base + static_cast<uint32_t>(i), base + static_cast<uint32_t>(i) + 1};
    simple = false;
  }
  void push_ascii(char c, uint32_t at16) {
    if (word.empty()) {
      base = at16;
      simple = true;
    } else if (simple && at16 != base + word.size()) {
      materialize();
    }
    word.push_back(c);
    if (!simple) spans.push_back({at16, at16 + 1});
    ++chars;
  }
  // A run of ASCII word characters copied (lowercased through `norm`) from consecutive input positions.
  void push_ascii_run(const unsigned char* src, size_t len, uint32_t at16, const char* norm) {
    if (word.empty()) {
      base = at16;
      simple = true;
    } else if (simple && at16 != base + word.size()) {
      materialize();
    }
    const size_t old = word.size();
    char* dst = word.extend(len);
    for (size_t i = 0; i < len; ++i) dst[i] = norm[src[i]];
    if (!simple) {
      spans.resize(old + len);
      for (size_t i = 0; i < len; ++i) spans[old + i] = {at16 + static_cast<uint32_t>(i), at16 + static_cast<uint32_t>(i) + 1};
    }
    chars += len;
  }
  void push_cp(char32_t cp, uint32_t at16, uint32_t len16) {
    if (simple) {
      if (word.empty()) base = at16;
      materialize();
    }
    word.append_utf8(cp);
    spans.resize(word.size(), Span{at16, at16 + len16});
    ++chars;
  }
  Span span_of(size_t byte_begin, size_t byte_end) const {
    if (simple) return {base + static_cast<uint32_t>(byte_begin), base + static_cast<uint32_t>(byte_end)};
    return {spans[byte_begin].start, spans[byte_end - 1].end};
  }
};

thread_local Scratch t_scratch;

[[noreturn]] void invalid_utf8(size_t at) {
  throw EngineError(ErrorCode::kInvalidArgument, "text is not valid UTF-8 (invalid byte sequence at byte " + std::to_string(at) + ")");
}

}  // namespace

struct BertFastPath::Impl {
  Impl(const BertFastPath::Options& o, std::shared_ptr<const Model> m, const Vocab& v) : config(o), model(std::move(m)), vocab(v) {}
  BertFastPath::Options config;
  std::shared_ptr<const Model> model;  // owns `vocab`
  const Vocab& vocab;
  std::vector<AddedToken> added;  // longest first: leftmost-longest matching tries them in order
  bool added_first_byte[256] = {};
  int32_t unk = -1;
  AsciiKind ascii_kind[128] = {};
  char ascii_norm[128] = {};
  int32_t ascii_punct_id[128] = {};

  // --- encode machinery; `out` is the encoding being built. ---

  // `split`: 1 when the token starts a pre-tokenized piece (a word, a punctuation mark), 2 for an
  // added token (a piece of its own), 0 inside a word; kept only when out.record_splits.
  void emit(RawSequence& out, int32_t id, Span s, uint8_t split) const {
    out.ids.push_back(id);
    out.offsets.emplace_back(s.start, s.end);
    if (out.record_splits) out.splits.push_back(split);
  }

  // WordPiece over the current word: greedy longest-match-first, "##" continuations, the whole word
  // as one [UNK] when a piece cannot be matched or the word is too long.
  void flush_word(Scratch& w, RawSequence& out) const {
    if (w.word.empty()) return;
    const std::string_view word = w.word.view();
    const size_t n = word.size();
    if (w.chars > config.max_input_chars_per_word) {
      emit(out, unk, w.span_of(0, n), 1);
      w.clear();
      return;
    }
    const size_t first_token = out.ids.size();
    size_t start = 0;
    while (start < n) {
      const size_t longest = start == 0 ? vocab.max_token_bytes() : vocab.max_continuation_bytes();
      size_t end = std::min(n, start + longest);
      while (end > start && end < n && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      int32_t id = -1;
      while (end > start) {
        const std::string_view piece = word.substr(start, end - start);
        id = start == 0 ? vocab.find(piece) : vocab.find_continuation(piece);
        if (id >= 0) break;
        do --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (id < 0) {
        out.ids.resize(first_token);
        out.offsets.resize(first_token);
        if (out.record_splits) out.splits.resize(first_token);
        emit(out, unk, w.span_of(0, n), 1);
        w.clear();
        return;
      }
      emit(out, id, w.span_of(start, end), start == 0 ? 1 : 0);
      start = end;
    }
    w.clear();
  }

  // One normalized character into the pre-tokenizer: whitespace ends the word, punctuation is a word
  // of its own, anything else extends the word.
  void route(Scratch& w, RawSequence& out, char32_t c, uint32_t at16, uint32_t len16) const {
    if (c < 0x80) {
      switch (ascii_kind[c]) {
        case kWord:
          if (len16 == 1)
            w.push_ascii(static_cast<char>(c), at16);
          else
            w.push_cp(c, at16, len16);
          return;
        case kPunct:
          flush_word(w, out);
          emit(out, ascii_punct_id[c], Span{at16, at16 + len16}, 1);
          return;
        default:  // whitespace (kDrop cannot reach here: normalization output is never dropped)
          flush_word(w, out);
          return;
      }
    }
    if (unicode::is_rust_whitespace(c)) {
      flush_word(w, out);
    } else if (unicode::is_bert_punctuation(c)) {
      flush_word(w, out);
      w.push_cp(c, at16, len16);
      flush_word(w, out);
    } else {
      w.push_cp(c, at16, len16);
    }
  }

  // After NFD: strip Mn, lowercase, pre-tokenize one decomposed code point.
  void emit_decomposed(Scratch& w, RawSequence& out, char32_t c, Span r) const {
    if (unicode::is_nonspacing_mark(c)) return;
    if (config.normalizer.lowercase) {
      char32_t lower[2];
      const size_t nl = unicode::to_lowercase(c, lower);
      for (size_t k = 0; k < nl; ++k) route(w, out, lower[k], r.start, r.end - r.start);
    } else {
      route(w, out, c, r.start, r.end - r.start);
    }
  }

  // The canonical reordering: a stable sort of the pending marks by combining class, then emission.
  // Called before every starter and at the end of a segment.
  void flush_pending(Scratch& w, RawSequence& out) const {
    if (w.pending.empty()) return;
    if (w.pending.size() > 1)
      std::stable_sort(w.pending.begin(), w.pending.end(), [](const PendingMark& a, const PendingMark& b) { return a.ccc < b.ccc; });
    for (const PendingMark& m : w.pending) emit_decomposed(w, out, m.c, w.take_range(m.first));
    w.pending.clear();
  }

  // A segment ends (whitespace, special token, end of text): nothing may wait past it.
  void end_word(Scratch& w, RawSequence& out) const {
    flush_pending(w, out);
    flush_word(w, out);
  }

  // BertNormalizer for one non-ASCII input character, then route() each resulting character.
  void normalize(Scratch& w, RawSequence& out, char32_t cp, uint32_t at16, uint32_t len16) const {
    if (config.normalizer.clean_text) {
      if (cp == 0xFFFD || unicode::is_bert_control(cp)) return;
      if (unicode::is_bert_whitespace(cp)) {  // becomes ' ': a starter, and a word boundary
        end_word(w, out);
        return;
      }
    }
    const bool chinese = config.normalizer.handle_chinese_chars && unicode::is_chinese_char(cp);
    if (chinese) end_word(w, out);  // the space inserted before it
    if (!config.normalizer.strip_accents) {
      if (config.normalizer.lowercase) {
        char32_t lower[2];
        const size_t nl = unicode::to_lowercase(cp, lower);
        for (size_t k = 0; k < nl; ++k) route(w, out, lower[k], at16, len16);
      } else {
        route(w, out, cp, at16, len16);
      }
    } else {
      char32_t decomposed[32];
      const size_t nd = unicode::nfd_char(cp, decomposed, 32);
      w.ranges.push_back(Span{at16, at16 + len16});
      for (size_t i = 0; i < nd; ++i) {
        const char32_t d = decomposed[i];
        const uint8_t ccc = unicode::combining_class(d);
        if (ccc == 0) {
          flush_pending(w, out);
          emit_decomposed(w, out, d, w.take_range(i == 0));
        } else {
          w.pending.push_back(PendingMark{d, ccc, i == 0});
        }
      }
    }
    if (chinese) end_word(w, out);  // and the space after it
  }

  // Raw whitespace (Rust char::is_whitespace) ending at / starting from `pos`, for lstrip/rstrip.
  static size_t whitespace_after(std::string_view text, size_t pos, uint32_t* units16) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    size_t i = pos;
    while (i < text.size()) {
      char32_t cp = p[i];
      size_t len = 1;
      if (cp >= 0x80 && (len = unicode::decode_utf8(p, text.size(), i, &cp)) == 0) break;
      if (!unicode::is_rust_whitespace(cp)) break;
      i += len;
      *units16 += unicode::utf16_length(cp);
    }
    return i;
  }

  // The added token matching at `pos` (leftmost-longest, as Hugging Face's Aho-Corasick), or null.
  const AddedToken* match_added(std::string_view text, size_t pos) const {
    const size_t left = text.size() - pos;
    for (const AddedToken& t : added)
      if (t.content.size() <= left && std::memcmp(text.data() + pos, t.content.data(), t.content.size()) == 0) return &t;
    return nullptr;
  }

  // limit > 0: stop once more than `limit` tokens exist (the caller truncates).
  void encode(std::string_view text, size_t limit, RawSequence& out) const {
    out.clear();
    out.ids.reserve(text.size() / 3 + 2);
    out.offsets.reserve(text.size() / 3 + 2);
    if (limit == 0) limit = SIZE_MAX;
    const size_t first = 0;

    Scratch& w = t_scratch;
    w.reset();
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t pos = 0;
    uint32_t pos16 = 0;
    // Where the current run of raw whitespace began, and where the last added token ended: lstrip
    // extends a match back over that run, but never into the previous match.
    uint32_t ws_run16 = 0, last_match_end16 = 0;
    bool in_ws_run = false;
    const bool any_added = !added.empty();
    const bool any_strip = std::any_of(added.begin(), added.end(), [](const AddedToken& t) { return t.lstrip; });

    while (pos < n) {
      if (out.ids.size() - first > limit) break;  // enough tokens to know the result is truncated
      const unsigned char c = p[pos];
      if (any_added && added_first_byte[c]) {
        if (const AddedToken* t = match_added(text, pos)) {
          end_word(w, out);
          uint32_t start16 = pos16;
          if (t->lstrip && in_ws_run) start16 = std::max(ws_run16, last_match_end16);
          pos += t->content.size();
          pos16 += t->utf16_len;
          if (t->rstrip) pos = whitespace_after(text, pos, &pos16);
          emit(out, t->id, Span{start16, pos16}, 2);
          last_match_end16 = pos16;
          in_ws_run = false;
          continue;
        }
      }
      if (c < 0x80) {
        // An ASCII character is a starter, unless clean_text drops it: then it never reaches NFD,
        // and the marks on its two sides are one run, reordered together (as in Hugging Face, where
        // the control character is gone before NFD sees the text).
        if (!w.pending.empty() && ascii_kind[c] != kDrop) flush_pending(w, out);
        if (any_strip) {
          const bool ws = c == ' ' || (c >= 0x09 && c <= 0x0D);
          if (ws && !in_ws_run) ws_run16 = pos16;
          in_ws_run = ws;
        }
        switch (ascii_kind[c]) {
          case kWord: {
            // The whole run of ASCII word characters at once: most of an English text.
            size_t q = pos + 1;
            while (q < n && p[q] < 0x80 && ascii_kind[p[q]] == kWord && !added_first_byte[p[q]]) ++q;
            w.push_ascii_run(p + pos, q - pos, pos16, ascii_norm);
            pos16 += static_cast<uint32_t>(q - pos);
            pos = q;
            continue;
          }
          case kSplit: flush_word(w, out); break;
          case kPunct:
            flush_word(w, out);
            emit(out, ascii_punct_id[c], Span{pos16, pos16 + 1}, 1);
            break;
          case kDrop: break;
        }
        ++pos;
        ++pos16;
        continue;
      }
      char32_t cp;
      const size_t len = unicode::decode_utf8(p, n, pos, &cp);
      if (len == 0) invalid_utf8(pos);
      const uint32_t len16 = unicode::utf16_length(cp);
      if (any_strip) {
        const bool ws = unicode::is_rust_whitespace(cp);
        if (ws && !in_ws_run) ws_run16 = pos16;
        in_ws_run = ws;
      }
      normalize(w, out, cp, pos16, len16);
      pos += len;
      pos16 += len16;
    }
    if (pos < n) {
      // Stopped early for truncation: the rest is not tokenized, but invalid input is still refused.
      const size_t bad = unicode::find_invalid_utf8(text.substr(pos));
      if (bad != std::string_view::npos) invalid_utf8(pos + bad);
    } else {
      end_word(w, out);
    }
  }
};

BertFastPath::BertFastPath(const Options& options, std::shared_ptr<const Model> model, const std::vector<Added>& added)
    : impl_(std::make_unique<Impl>(options, model, *wordpiece_vocab(*model))) {
  Impl& m = *impl_;
  m.unk = m.vocab.find(*model->unk_token());
  for (const Added& a : added) {
    AddedToken t;
    t.content = a.content;
    t.id = a.id;
    t.utf16_len = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(a.content.data());
    for (size_t i = 0; i < a.content.size();) {
      char32_t cp = p[i];
      size_t len = 1;
      if (cp >= 0x80) len = unicode::decode_utf8(p, a.content.size(), i, &cp);
      if (len == 0) len = 1;
      t.utf16_len += unicode::utf16_length(cp);
      i += len;
    }
    t.lstrip = a.lstrip;
    t.rstrip = a.rstrip;
    m.added_first_byte[static_cast<unsigned char>(t.content[0])] = true;
    m.added.push_back(std::move(t));
  }
  // Longest first; among equal lengths the earlier-declared wins (stable), as Aho-Corasick's
  // leftmost-longest does for identical patterns.
  std::stable_sort(m.added.begin(), m.added.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  // ASCII dispatch, derived from the general predicates.
  const BertNormalizerOptions& c = m.config.normalizer;
  for (char32_t a = 0; a < 128; ++a) {
    AsciiKind kind;
    char32_t norm = a;
    if (c.clean_text && a == 0)
      kind = kDrop;
    else if (c.clean_text && unicode::is_bert_control(a))
      kind = kDrop;
    else if (c.clean_text && unicode::is_bert_whitespace(a))
      kind = kSplit;
    else if (unicode::is_rust_whitespace(a))
      kind = kSplit;
    else if (unicode::is_bert_punctuation(a))
      kind = kPunct;
    else
      kind = kWord;
    if (c.lowercase && a >= 'A' && a <= 'Z') norm = a + 32;
    m.ascii_kind[a] = kind;
    m.ascii_norm[a] = static_cast<char>(norm);
    if (kind == kPunct) {
      const char ch = static_cast<char>(a);
      const int32_t id = m.vocab.find(std::string_view(&ch, 1));
      m.ascii_punct_id[a] = id >= 0 && m.config.max_input_chars_per_word >= 1 ? id : m.unk;
    }
  }
}

BertFastPath::~BertFastPath() = default;

void BertFastPath::encode(std::string_view text, size_t limit, RawSequence& out) const { impl_->encode(text, limit, out); }

}  // namespace bert
