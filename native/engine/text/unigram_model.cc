// Unigram (tokenizers' models::unigram, the "optimized" Viterbi SentencePiece uses): the best-scoring
// segmentation of a piece into vocabulary entries by summed log-probability; a character no entry
// covers alone is an unk candidate scored (lowest score - 10); consecutive unks fuse into one token,
// whose string is looked up again (an entry, else its <0xXX> bytes with byte_fallback, else unk).
// Ties keep the first candidate in trie order (shorter first), as the Rust loop does; scores are
// doubles summed in the same order, so the choice is bit-for-bit the same.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <tuple>

#include "engine/errors.h"
#include "engine/text/models.h"
#include "engine/text/vocab.h"
#include "engine/text/word_cache.h"

namespace bert {

namespace {

// A byte trie over the vocabulary: child of (node, byte) in an open-addressing table.
class ByteTrie {
 public:
  void insert(std::string_view key) {
    uint32_t node = 0;
    for (const char ch : key) {
      const auto b = static_cast<unsigned char>(ch);
      uint32_t child = find(node, b);
      if (child == kNone) {
        child = static_cast<uint32_t>(leaf_.size());
        leaf_.push_back(false);
        put(node, b, child);
      }
      node = child;
    }
    leaf_[node] = true;
  }
  static constexpr uint32_t kNone = 0xFFFFFFFF;
  uint32_t find(uint32_t node, unsigned char b) const {
    if (slots_.empty()) return kNone;
    const uint64_t k = (uint64_t(node) << 8) | b;
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].child == kNone) return kNone;
      if (slots_[i].key == k) return slots_[i].child;
    }
  }
  bool leaf(uint32_t node) const { return leaf_[node]; }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t child = kNone;
  };
  static uint64_t hash(uint64_t k) {
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 29);
  }
  void put(uint32_t node, unsigned char b, uint32_t child) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const uint64_t k = (uint64_t(node) << 8) | b;
    size_t i = hash(k) & mask_;
    while (slots_[i].child != kNone) i = (i + 1) & mask_;
    slots_[i] = Slot{k, child};
    ++count_;
  }
  void grow() {
    std::vector<Slot> old(slots_.empty() ? 1024 : slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.child == kNone) continue;
      size_t i = hash(s.key) & mask_;
      while (slots_[i].child != kNone) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::vector<bool> leaf_ = std::vector<bool>(1, false);  // node 0: the root
  size_t mask_ = 0, count_ = 0;
};

constexpr double kUnkPenalty = 10.0;

class Unigram : public Model {
 public:
  Unigram(std::vector<std::pair<std::string, double>> vocab, const UnigramOptions& o, const std::string& what)
      : vocab_(std::move(vocab)), o_(o), serial_(WordCache::next_serial()) {
    if (o_.unk_id) {
      if (vocab_.empty()) throw EngineError(ErrorCode::kTokenizerInvalid, what + ": the Unigram vocabulary is empty but has an unk_id");
      if (*o_.unk_id >= vocab_.size())
        throw EngineError(ErrorCode::kTokenizerInvalid, what + ": the Unigram unk_id " + std::to_string(*o_.unk_id) +
                                                            " is not in the vocabulary of " + std::to_string(vocab_.size()));
    }
    min_score_ = std::numeric_limits<double>::infinity();
    for (size_t id = 0; id < vocab_.size(); ++id) {
      table_.insert(vocab_[id].first, static_cast<int32_t>(id));
      trie_.insert(vocab_[id].first);
      if (vocab_[id].second < min_score_) min_score_ = vocab_[id].second;
    }
    trims_.resize(vocab_.size());
    for (size_t id = 0; id < vocab_.size(); ++id) trims_[id] = trim_counts_of(vocab_[id].first);
    byte_token_.assign(vocab_.size(), false);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = table_.find(name);
      if (byte_ids_[b] >= 0) byte_token_[static_cast<size_t>(byte_ids_[b])] = true;
    }
  }

  void tokenize(std::string_view piece, std::vector<Token>& out, bool trim) const override {
    if (piece.empty()) return;
    auto& cache = WordCache::of(serial_);
    const std::string key(piece);
    auto it = cache.find(key);
    if (it == cache.end()) {
      std::vector<CachedPiece> pieces;
      encode(piece, pieces);
      if (!WordCache::cacheable(piece, cache.size())) {
        emit(piece, pieces, out, trim);
        return;
      }
      it = cache.emplace(key, std::move(pieces)).first;
    }
    emit(piece, it->second, out, trim);
  }

  int32_t token_to_id(std::string_view token) const override { return table_.find(token); }
  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) return nullptr;
    return &vocab_[static_cast<size_t>(id)].first;
  }
  size_t vocab_size() const override { return vocab_.size(); }
  size_t id_space() const override { return vocab_.size(); }
  std::optional<std::string> unk_token() const override {
    if (!o_.unk_id) return std::nullopt;
    return vocab_[*o_.unk_id].first;
  }
  std::string describe() const override { return "Unigram"; }

 private:
  void emit(std::string_view piece, const std::vector<CachedPiece>& pieces, std::vector<Token>& out, bool trim) const {
    for (const CachedPiece& p : pieces) {
      Token t{p.id, p.start, p.end};
      if (trim) {
        // A token's string is its vocabulary entry; a (fused) unk's is the text it covers; a byte
        // token's is "<0xXX>".
        const auto id = static_cast<size_t>(p.id);
        if (byte_token_[id])
          t.lead = t.trail = 0;
        else if (o_.unk_id && id == *o_.unk_id)
          std::tie(t.lead, t.trail) = trim_counts_of(piece.substr(p.start, p.end - p.start));
        else
          std::tie(t.lead, t.trail) = trims_[id];
      }
      out.push_back(t);
    }
  }

  // encode_optimized, then tokenize()'s id lookup of each result string.
  void encode(std::string_view s, std::vector<CachedPiece>& result) const {
    struct Best {
      int32_t id;
      double score;
      int64_t starts_at;  // -1: none yet
    };
    thread_local std::vector<Best> best;
    const size_t size = s.size();
    best.assign(size + 1, Best{0, 0.0, -1});
    const double unk_score = min_score_ - kUnkPenalty;
    size_t starts_at = 0;
    while (starts_at < size) {
      const double till_here = best[starts_at].score;
      bool has_single_node = false;
      const size_t mblen = utf8_len_of_lead(static_cast<unsigned char>(s[starts_at]));
      uint32_t node = 0;
      for (size_t k = starts_at; k < size; ++k) {
        node = trie_.find(node, static_cast<unsigned char>(s[k]));
        if (node == ByteTrie::kNone) break;
        if (!trie_.leaf(node)) continue;
        const size_t key_pos = k + 1;
        const int32_t id = table_.find(s.substr(starts_at, key_pos - starts_at));
        const double candidate = vocab_[static_cast<size_t>(id)].second + till_here;
        Best& target = best[key_pos];
        if (target.starts_at < 0 || candidate > target.score) target = Best{id, candidate, static_cast<int64_t>(starts_at)};
        if (!has_single_node && key_pos - starts_at == mblen) has_single_node = true;
      }
      if (!has_single_node) {
        Best& target = best[starts_at + mblen];
        const double candidate = unk_score + till_here;
        if (target.starts_at < 0 || candidate > target.score) {
          if (!o_.unk_id)
            throw EngineError(ErrorCode::kInvalidArgument, "the text has a character the Unigram vocabulary lacks, and it has no unk_id");
          target = Best{static_cast<int32_t>(*o_.unk_id), candidate, static_cast<int64_t>(starts_at)};
        }
      }
      starts_at += mblen;
    }
    // Back from the end; consecutive unks become one range.
    thread_local std::vector<std::pair<size_t, size_t>> ranges;  // [start, end), reversed
    thread_local std::vector<bool> fused;
    ranges.clear();
    fused.clear();
    size_t ends_at = size;
    bool open_unk = false;
    while (ends_at > 0) {
      const Best& node = best[ends_at];
      const size_t st = static_cast<size_t>(node.starts_at);
      const bool unk = o_.unk_id && static_cast<size_t>(node.id) == *o_.unk_id;
      if (unk) {
        if (open_unk)
          ranges.back().first = st;
        else {
          ranges.emplace_back(st, ends_at);
          fused.push_back(true);
        }
        open_unk = true;
      } else {
        ranges.emplace_back(st, ends_at);
        fused.push_back(false);
        open_unk = false;
      }
      ends_at = st;
    }
    result.clear();
    for (size_t r = ranges.size(); r-- > 0;) {
      const auto [b, e] = ranges[r];
      const std::string_view str = s.substr(b, e - b);
      const int32_t id = table_.find(str);
      if (id >= 0) {
        result.push_back({id, static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
        continue;
      }
      if (o_.byte_fallback) {
        bool all = true;
        for (unsigned char c : str) all = all && byte_ids_[c] >= 0;
        if (all) {
          for (unsigned char c : str) result.push_back({byte_ids_[c], static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
          continue;
        }
      }
      if (!o_.unk_id)
        throw EngineError(ErrorCode::kInvalidArgument, "the text has a character the Unigram vocabulary lacks, and it has no unk_id");
      result.push_back({static_cast<int32_t>(*o_.unk_id), static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
    }
  }

  std::vector<std::pair<std::string, double>> vocab_;
  UnigramOptions o_;
  uint64_t serial_;
  TokenTable table_;
  ByteTrie trie_;
  double min_score_ = 0;
  int32_t byte_ids_[256];
  std::vector<bool> byte_token_;  // per id
  std::vector<std::pair<uint32_t, uint32_t>> trims_;
};

}  // namespace

ModelPtr make_unigram_model(std::vector<std::pair<std::string, double>> vocab, const UnigramOptions& o, const std::string& what) {
  return std::make_shared<Unigram>(std::move(vocab), o, what);
}

}  // namespace bert
