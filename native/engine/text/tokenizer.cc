// The tokenizer runs Hugging Face's fast BERT pipeline in ONE pass over the input, with no
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
#include "engine/text/tokenizer.h"

#include <algorithm>
#include <cstring>

#include "engine/errors.h"
#include "engine/text/tokenizer_files.h"
#include "engine/text/unicode.h"
#include "engine/text/vocab.h"

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
  WordBuffer word;           // normalized UTF-8 bytes of the word being built
  std::vector<Span> spans;   // per byte of `word`: the input character's UTF-16 range (see `simple`)
  size_t chars = 0;          // code points in `word`
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
  throw EngineError(ErrorCode::kInvalidArgument,
                    "text is not valid UTF-8 (invalid byte sequence at byte " + std::to_string(at) + ")");
}

}  // namespace

struct Tokenizer::Impl {
  TokenizerConfig config;
  Vocab vocab;
  std::vector<AddedToken> added;  // longest first: leftmost-longest matching tries them in order
  bool added_first_byte[256] = {};
  std::vector<uint8_t> special;  // per id
  int32_t unk = -1, cls = -1, sep = -1, pad = -1, mask = -1;
  AsciiKind ascii_kind[128] = {};
  char ascii_norm[128] = {};
  int32_t ascii_punct_id[128] = {};

  // --- encode machinery; `out` is the encoding being built. ---

  void emit(Encoding& out, int32_t id, Span s) const {
    out.ids.push_back(id);
    out.offsets.emplace_back(s.start, s.end);
  }

  // WordPiece over the current word: greedy longest-match-first, "##" continuations, the whole word
  // as one [UNK] when a piece cannot be matched or the word is too long.
  void flush_word(Scratch& w, Encoding& out) const {
    if (w.word.empty()) return;
    const std::string_view word = w.word.view();
    const size_t n = word.size();
    if (w.chars > config.max_input_chars_per_word) {
      emit(out, unk, w.span_of(0, n));
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
        emit(out, unk, w.span_of(0, n));
        w.clear();
        return;
      }
      emit(out, id, w.span_of(start, end));
      start = end;
    }
    w.clear();
  }

  // One normalized character into the pre-tokenizer: whitespace ends the word, punctuation is a word
  // of its own, anything else extends the word.
  void route(Scratch& w, Encoding& out, char32_t c, uint32_t at16, uint32_t len16) const {
    if (c < 0x80) {
      switch (ascii_kind[c]) {
        case kWord:
          if (len16 == 1) w.push_ascii(static_cast<char>(c), at16);
          else w.push_cp(c, at16, len16);
          return;
        case kPunct:
          flush_word(w, out);
          emit(out, ascii_punct_id[c], Span{at16, at16 + len16});
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
  void emit_decomposed(Scratch& w, Encoding& out, char32_t c, Span r) const {
    if (unicode::is_nonspacing_mark(c)) return;
    if (config.lowercase) {
      char32_t lower[2];
      const size_t nl = unicode::to_lowercase(c, lower);
      for (size_t k = 0; k < nl; ++k) route(w, out, lower[k], r.start, r.end - r.start);
    } else {
      route(w, out, c, r.start, r.end - r.start);
    }
  }

  // The canonical reordering: a stable sort of the pending marks by combining class, then emission.
  // Called before every starter and at the end of a segment.
  void flush_pending(Scratch& w, Encoding& out) const {
    if (w.pending.empty()) return;
    if (w.pending.size() > 1)
      std::stable_sort(w.pending.begin(), w.pending.end(),
                       [](const PendingMark& a, const PendingMark& b) { return a.ccc < b.ccc; });
    for (const PendingMark& m : w.pending) emit_decomposed(w, out, m.c, w.take_range(m.first));
    w.pending.clear();
  }

  // A segment ends (whitespace, special token, end of text): nothing may wait past it.
  void end_word(Scratch& w, Encoding& out) const {
    flush_pending(w, out);
    flush_word(w, out);
  }

  // BertNormalizer for one non-ASCII input character, then route() each resulting character.
  void normalize(Scratch& w, Encoding& out, char32_t cp, uint32_t at16, uint32_t len16) const {
    if (config.clean_text) {
      if (cp == 0xFFFD || unicode::is_bert_control(cp)) return;
      if (unicode::is_bert_whitespace(cp)) {  // becomes ' ': a starter, and a word boundary
        end_word(w, out);
        return;
      }
    }
    const bool chinese = config.handle_chinese_chars && unicode::is_chinese_char(cp);
    if (chinese) end_word(w, out);  // the space inserted before it
    if (!config.strip_accents) {
      if (config.lowercase) {
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

  Encoding encode(std::string_view text, bool add_special_tokens, size_t max_length) const {
    const size_t n_special = add_special_tokens ? 2 : 0;
    if (max_length != 0 && max_length < n_special)
      throw EngineError(ErrorCode::kInvalidArgument, "max_length " + std::to_string(max_length) +
                                                         " is too small to hold [CLS] and [SEP]; expected at least 2");
    const size_t limit = max_length == 0 ? SIZE_MAX : max_length - n_special;

    Encoding out;
    out.ids.reserve(text.size() / 3 + 2);
    out.offsets.reserve(text.size() / 3 + 2);
    if (add_special_tokens) emit(out, cls, Span{0, 0});
    const size_t first = out.ids.size();

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
          emit(out, t->id, Span{start16, pos16});
          last_match_end16 = pos16;
          in_ws_run = false;
          continue;
        }
      }
      if (c < 0x80) {
        if (!w.pending.empty()) flush_pending(w, out);  // an ASCII character is a starter
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
          case kSplit:
            flush_word(w, out);
            break;
          case kPunct:
            flush_word(w, out);
            emit(out, ascii_punct_id[c], Span{pos16, pos16 + 1});
            break;
          case kDrop:
            break;
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
    if (out.ids.size() - first > limit) {
      out.ids.resize(first + limit);
      out.offsets.resize(first + limit);
      out.truncated = true;
    }
    if (add_special_tokens) {
      emit(out, sep, Span{0, 0});
      out.has_special_tokens = true;
    }
    return out;
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

namespace {

int32_t require_token(const Tokenizer::Impl& impl, const std::string& name, const char* role, const std::string& source) {
  const int32_t id = impl.vocab.find(name);
  if (id < 0)
    throw EngineError(ErrorCode::kTokenizerInvalid,
                      source + ": the " + role + " token \"" + name + "\" is not in the vocabulary");
  return id;
}

std::unique_ptr<Tokenizer::Impl> build(TokenizerSpec spec) {
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->config = spec.config;
  if (impl->config.continuing_prefix.empty())
    throw EngineError(ErrorCode::kTokenizerInvalid, spec.source + ": the WordPiece continuing_subword_prefix is empty");
  impl->vocab = Vocab(std::move(spec.vocab), impl->config.continuing_prefix);
  for (const AddedTokenSpec& a : spec.added) impl->vocab.add(a.content, static_cast<int32_t>(a.id));
  impl->special.assign(impl->vocab.size(), 0);
  for (const AddedTokenSpec& a : spec.added) {
    AddedToken t;
    t.content = a.content;
    t.id = static_cast<int32_t>(a.id);
    t.utf16_len = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(a.content.data());
    for (size_t i = 0; i < a.content.size();) {
      char32_t cp = p[i];
      size_t len = 1;
      if (cp >= 0x80 && (len = unicode::decode_utf8(p, a.content.size(), i, &cp)) == 0)
        throw EngineError(ErrorCode::kTokenizerInvalid, spec.source + ": added token is not valid UTF-8");
      t.utf16_len += unicode::utf16_length(cp);
      i += len;
    }
    t.lstrip = a.lstrip;
    t.rstrip = a.rstrip;
    impl->added_first_byte[static_cast<unsigned char>(t.content[0])] = true;
    if (a.special) impl->special[static_cast<size_t>(a.id)] = 1;
    impl->added.push_back(std::move(t));
  }
  // Longest first; among equal lengths the earlier-declared wins (stable), as Aho-Corasick's
  // leftmost-longest does for identical patterns.
  std::stable_sort(impl->added.begin(), impl->added.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });

  const TokenizerConfig& c = impl->config;
  impl->unk = require_token(*impl, c.unk_token, "unknown", spec.source);
  impl->cls = require_token(*impl, c.cls_token, "classifier (CLS)", spec.source);
  impl->sep = require_token(*impl, c.sep_token, "separator (SEP)", spec.source);
  impl->pad = require_token(*impl, c.pad_token, "padding", spec.source);
  impl->mask = require_token(*impl, c.mask_token, "mask", spec.source);

  // ASCII dispatch, derived from the general predicates.
  for (char32_t a = 0; a < 128; ++a) {
    AsciiKind kind;
    char32_t norm = a;
    if (c.clean_text && a == 0) kind = kDrop;
    else if (c.clean_text && unicode::is_bert_control(a)) kind = kDrop;
    else if (c.clean_text && unicode::is_bert_whitespace(a)) kind = kSplit;
    else if (unicode::is_rust_whitespace(a)) kind = kSplit;
    else if (unicode::is_bert_punctuation(a)) kind = kPunct;
    else kind = kWord;
    if (c.lowercase && a >= 'A' && a <= 'Z') norm = a + 32;
    impl->ascii_kind[a] = kind;
    impl->ascii_norm[a] = static_cast<char>(norm);
    if (kind == kPunct) {
      const char ch = static_cast<char>(a);
      const int32_t id = impl->vocab.find(std::string_view(&ch, 1));
      impl->ascii_punct_id[a] = id >= 0 && c.max_input_chars_per_word >= 1 ? id : impl->unk;
    }
  }
  return impl;
}

}  // namespace

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::string& path) {
  return std::shared_ptr<const Tokenizer>(new Tokenizer(build(read_tokenizer_files(path))));
}

std::shared_ptr<const Tokenizer> Tokenizer::from_spec(TokenizerSpec&& spec) {
  return std::shared_ptr<const Tokenizer>(new Tokenizer(build(std::move(spec))));
}

std::shared_ptr<const Tokenizer> Tokenizer::from_vocab(std::vector<std::string> vocab, TokenizerConfig config) {
  TokenizerSpec spec;
  spec.source = "in-memory vocabulary";
  spec.added = role_special_tokens(vocab, config);
  spec.vocab = std::move(vocab);
  spec.config = std::move(config);
  return std::shared_ptr<const Tokenizer>(new Tokenizer(build(std::move(spec))));
}

Encoding Tokenizer::encode(std::string_view utf8, bool add_special_tokens, size_t max_length) const {
  return impl_->encode(utf8, add_special_tokens, max_length);
}

namespace {

// Replaces every `from` in `s` by `to`, left to right (Rust/Python str.replace).
void replace_all(std::string& s, std::string_view from, std::string_view to, std::string& scratch) {
  size_t at = s.find(from);
  if (at == std::string::npos) return;
  scratch.clear();
  size_t done = 0;
  for (; at != std::string::npos; at = s.find(from, done)) {
    scratch.append(s, done, at - done);
    scratch.append(to);
    done = at + from.size();
  }
  scratch.append(s, done, std::string::npos);
  s.swap(scratch);
}

// The WordPiece decoder's cleanup (tokenizers' decoders::wordpiece::cleanup), applied to each token.
constexpr std::pair<std::string_view, std::string_view> kDecoderCleanups[] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
    {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
// transformers' clean_up_tokenization, applied to the whole decoded string.
constexpr std::pair<std::string_view, std::string_view> kStringCleanups[] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
    {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};

}  // namespace

namespace {

// One token through the WordPiece decoder (tokenizers' decoders::wordpiece): the first token as it
// is, a continuation without its prefix, any other after a space; then the decoder's cleanup.
void append_piece(std::string& out, std::string_view tok, bool first, const TokenizerConfig& config, std::string& piece,
                  std::string& scratch) {
  const std::string& prefix = config.continuing_prefix;
  piece.clear();
  if (first) {
    piece.assign(tok);  // the first token keeps its "##"
  } else if (tok.size() >= prefix.size() && tok.compare(0, prefix.size(), prefix) == 0) {
    piece.append(tok.substr(prefix.size()));
  } else {
    piece.push_back(' ');
    piece.append(tok);
  }
  // Every pattern starts with a space: most pieces cannot match at all.
  if (config.decoder_cleanup && piece.find(' ') != std::string::npos)
    for (const auto& [from, to] : kDecoderCleanups) replace_all(piece, from, to, scratch);
  out += piece;
}

}  // namespace

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens,
                              bool clean_up_tokenization_spaces) const {
  const Impl& m = *impl_;
  std::string out, piece, scratch;
  out.reserve(ids.size() * 6);
  bool first = true;
  for (const int64_t id : ids) {
    const std::string* tok = find_token(id);
    if (tok == nullptr) continue;  // as Hugging Face: ids without a token are skipped
    if (skip_special_tokens && m.special[static_cast<size_t>(id)]) continue;
    append_piece(out, *tok, first, m.config, piece, scratch);
    first = false;
  }
  if (clean_up_tokenization_spaces)
    for (const auto& [from, to] : kStringCleanups) replace_all(out, from, to, scratch);
  return out;
}

std::string Tokenizer::convert_tokens_to_string(const std::vector<std::string_view>& tokens) const {
  std::string out, piece, scratch;
  for (size_t i = 0; i < tokens.size(); ++i) append_piece(out, tokens[i], i == 0, impl_->config, piece, scratch);
  return out;
}

const std::string* Tokenizer::find_token(int64_t id) const {
  if (id < 0 || static_cast<uint64_t>(id) >= impl_->vocab.size()) return nullptr;
  const std::string& t = impl_->vocab.token(static_cast<size_t>(id));
  return t.empty() ? nullptr : &t;
}

const std::string& Tokenizer::id_to_token(int64_t id) const {
  const std::string* t = find_token(id);
  return t ? *t : impl_->config.unk_token;
}

int64_t Tokenizer::token_to_id(std::string_view token) const { return impl_->vocab.find(token); }
bool Tokenizer::is_special(int64_t id) const {
  return id >= 0 && static_cast<uint64_t>(id) < impl_->special.size() && impl_->special[static_cast<size_t>(id)];
}
size_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }
const TokenizerConfig& Tokenizer::config() const { return impl_->config; }
int64_t Tokenizer::cls_id() const { return impl_->cls; }
int64_t Tokenizer::sep_id() const { return impl_->sep; }
int64_t Tokenizer::pad_id() const { return impl_->pad; }
int64_t Tokenizer::mask_id() const { return impl_->mask; }
int64_t Tokenizer::unk_id() const { return impl_->unk; }

}  // namespace bert
