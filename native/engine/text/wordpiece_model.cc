// WordPiece (tokenizers' models::wordpiece): greedy longest-match-first with continuation pieces; a
// piece that cannot be covered, or is longer than max_input_chars_per_word characters, is one unk.
#include <algorithm>
#include <tuple>

#include "engine/errors.h"
#include "engine/text/models.h"
#include "engine/text/vocab.h"

namespace bert {

namespace {

class WordPiece : public Model {
 public:
  WordPiece(std::vector<std::string> vocab, const WordPieceOptions& o, const std::string& what)
      : o_(o), vocab_(std::move(vocab), o.continuing_subword_prefix) {
    unk_ = vocab_.find(o_.unk_token);
    if (unk_ < 0)
      throw EngineError(ErrorCode::kTokenizerInvalid, what + ": the WordPiece unk_token \"" + o_.unk_token + "\" is not in the vocabulary");
    size_ = 0;
    for (size_t id = 0; id < vocab_.size(); ++id) size_ += !vocab_.token(id).empty();
    trims_.resize(vocab_.size());
    for (size_t id = 0; id < vocab_.size(); ++id) trims_[id] = trim_counts_of(vocab_.token(id));
  }

  void tokenize(std::string_view word, std::vector<Token>& out, bool trim) const override {
    const size_t n = word.size();
    size_t chars = 0;
    for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
    const size_t first = out.size();
    auto emit = [&](int32_t id, size_t s, size_t e) {
      Token t{id, static_cast<uint32_t>(s), static_cast<uint32_t>(e)};
      if (trim) std::tie(t.lead, t.trail) = trims_[static_cast<size_t>(id)];
      out.push_back(t);
    };
    if (chars > o_.max_input_chars_per_word) {
      emit(unk_, 0, n);
      return;
    }
    size_t start = 0;
    while (start < n) {
      const size_t longest = start == 0 ? vocab_.max_token_bytes() : vocab_.max_continuation_bytes();
      size_t end = std::min(n, start + longest);
      while (end > start && end < n && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      int32_t id = -1;
      while (end > start) {
        const std::string_view piece = word.substr(start, end - start);
        id = start == 0 ? vocab_.find(piece) : vocab_.find_continuation(piece);
        if (id >= 0) break;
        do --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (id < 0) {
        out.resize(first);
        emit(unk_, 0, n);
        return;
      }
      emit(id, start, end);
      start = end;
    }
  }
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size() || vocab_.token(static_cast<size_t>(id)).empty()) return nullptr;
    return &vocab_.token(static_cast<size_t>(id));
  }
  size_t vocab_size() const override { return size_; }
  size_t id_space() const override { return vocab_.size(); }
  std::optional<std::string> unk_token() const override { return o_.unk_token; }
  std::string describe() const override { return "WordPiece"; }
  const Vocab& vocab() const { return vocab_; }

 private:
  WordPieceOptions o_;
  Vocab vocab_;
  int32_t unk_ = -1;
  size_t size_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> trims_;
};

}  // namespace

const Vocab* wordpiece_vocab(const Model& model) {
  const auto* w = dynamic_cast<const WordPiece*>(&model);
  return w ? &w->vocab() : nullptr;
}

ModelPtr make_wordpiece_model(std::vector<std::string> vocab, const WordPieceOptions& o, const std::string& what) {
  return std::make_shared<WordPiece>(std::move(vocab), o, what);
}

}  // namespace bert
