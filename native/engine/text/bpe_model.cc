// BPE (tokenizers' models::bpe): a piece starts as its characters (each with the continuing prefix
// unless first, the end-of-word suffix if last), unknown ones become unk (fused when fuse_unk) or
// their <0xXX> byte tokens (byte_fallback); then pairs merge by rank, lowest first, leftmost among
// equals, with the same priority queue and the same "stale entry" test as the Rust Word::merge_all
// (which decides the result when two merges make the same token).
#include <algorithm>
#include <cstdio>
#include <queue>
#include <tuple>
#include <unordered_map>

#include "engine/errors.h"
#include "engine/text/models.h"
#include "engine/text/vocab.h"
#include "engine/text/word_cache.h"

namespace bert {

namespace {

struct Symbol {
  int32_t c;
  int32_t prev, next;
  uint32_t len;
};

struct MergeEntry {
  uint32_t pos, rank;
  int32_t new_id;
};
struct MergeLater {  // a min-heap on (rank, pos)
  bool operator()(const MergeEntry& a, const MergeEntry& b) const { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; }
};

class Bpe : public Model {
 public:
  Bpe(std::vector<std::pair<std::string, uint32_t>> vocab, std::vector<std::pair<std::string, std::string>> merges, const BpeOptions& o,
      const std::string& what)
      : o_(o), serial_(WordCache::next_serial()) {
    size_t id_space = 0;
    for (const auto& [tok, id] : vocab) id_space = std::max<size_t>(id_space, size_t{id} + 1);
    tokens_.assign(id_space, std::string());
    for (auto& [tok, id] : vocab) {
      table_.insert(tok, static_cast<int32_t>(id));
      tokens_[id] = tok;
    }
    size_ = table_.size();
    const size_t prefix_len = o_.continuing_subword_prefix ? o_.continuing_subword_prefix->size() : 0;
    merges_.reserve(merges.size() * 2);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& [a, b] = merges[rank];
      const int32_t ia = table_.find(a), ib = table_.find(b);
      if (ia < 0)
        throw EngineError(ErrorCode::kTokenizerInvalid,
                          what + ": BPE merge " + std::to_string(rank) + " uses \"" + a + "\", which is not in the vocabulary");
      if (ib < 0)
        throw EngineError(ErrorCode::kTokenizerInvalid,
                          what + ": BPE merge " + std::to_string(rank) + " uses \"" + b + "\", which is not in the vocabulary");
      if (b.size() < prefix_len)
        throw EngineError(ErrorCode::kTokenizerInvalid,
                          what + ": BPE merge " + std::to_string(rank) + "'s second token is shorter than the continuing_subword_prefix");
      const std::string merged = a + b.substr(prefix_len);
      const int32_t im = table_.find(merged);
      if (im < 0)
        throw EngineError(ErrorCode::kTokenizerInvalid,
                          what + ": BPE merge " + std::to_string(rank) + " makes \"" + merged + "\", which is not in the vocabulary");
      merges_[key(ia, ib)] = {static_cast<uint32_t>(rank), im};  // a repeated pair: the later rank wins, as in Rust
    }
    if (o_.unk_token) unk_ = table_.find(*o_.unk_token);
    trims_.resize(tokens_.size());
    for (size_t id = 0; id < tokens_.size(); ++id) trims_[id] = trim_counts_of(tokens_[id]);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = table_.find(name);
    }
  }

  void tokenize(std::string_view piece, std::vector<Token>& out, bool trim) const override {
    if (piece.empty()) return;
    auto emit = [&](int32_t id, size_t s, size_t e) {
      Token t{id, static_cast<uint32_t>(s), static_cast<uint32_t>(e)};
      if (trim && id >= 0 && static_cast<size_t>(id) < trims_.size()) std::tie(t.lead, t.trail) = trims_[static_cast<size_t>(id)];
      out.push_back(t);
    };
    if (o_.ignore_merges) {
      const int32_t id = table_.find(piece);
      if (id >= 0) {
        emit(id, 0, piece.size());
        return;
      }
    }
    auto& cache = WordCache::of(serial_);
    const std::string key_str(piece);
    auto it = cache.find(key_str);
    if (it == cache.end()) {
      std::vector<CachedPiece> pieces;
      merge_word(piece, pieces);
      if (!WordCache::cacheable(piece, cache.size())) {
        emit_pieces(pieces, emit);
        return;
      }
      it = cache.emplace(key_str, std::move(pieces)).first;
    }
    emit_pieces(it->second, emit);
  }

  int32_t token_to_id(std::string_view token) const override { return table_.find(token); }
  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || tokens_[static_cast<size_t>(id)].empty()) return nullptr;
    return &tokens_[static_cast<size_t>(id)];
  }
  size_t vocab_size() const override { return size_; }
  size_t id_space() const override { return tokens_.size(); }
  std::optional<std::string> unk_token() const override { return o_.unk_token; }
  std::string describe() const override { return "BPE"; }

 private:
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  template <class Emit>
  static void emit_pieces(const std::vector<CachedPiece>& pieces, Emit& emit) {
    for (const CachedPiece& p : pieces) emit(p.id, p.start, p.end);
  }

  void merge_word(std::string_view w, std::vector<CachedPiece>& result) const {
    thread_local std::vector<Symbol> symbols;
    thread_local std::string s;
    symbols.clear();
    auto add = [&](int32_t c, uint32_t len) {
      const int32_t n = static_cast<int32_t>(symbols.size());
      if (!symbols.empty()) symbols.back().next = n;
      symbols.push_back(Symbol{c, n - 1, -1, len});
    };
    bool has_unk = false;
    int32_t unk_id = -1;
    uint32_t unk_len = 0;
    const std::string word(w);
    for (size_t i = 0; i < word.size();) {
      size_t n = 0;
      utf8_decode_at(word, i, &n);
      const bool is_first = i == 0, is_last = i + n >= word.size();
      s.clear();
      if (!is_first && o_.continuing_subword_prefix) s += *o_.continuing_subword_prefix;
      s.append(word, i, n);
      if (is_last && o_.end_of_word_suffix) s += *o_.end_of_word_suffix;
      const uint32_t byte_len = static_cast<uint32_t>(n);
      i += n;
      const int32_t id = table_.find(s);
      if (id >= 0) {
        if (has_unk) {
          add(unk_id, unk_len);
          has_unk = false;
        }
        add(id, byte_len);
        continue;
      }
      if (o_.byte_fallback) {
        bool all = true;
        for (unsigned char b : s) all = all && byte_ids_[b] >= 0;
        if (all) {
          // Each byte token covers one byte (of `s`, prefix and suffix included, as in Rust).
          for (unsigned char b : s) add(byte_ids_[b], 1);
          continue;
        }
      }
      if (o_.unk_token) {
        if (unk_ < 0)
          throw EngineError(ErrorCode::kInvalidArgument, "the text has a character the BPE vocabulary lacks, and its unk_token \"" +
                                                             *o_.unk_token + "\" is not in the vocabulary");
        if (has_unk && o_.fuse_unk) {
          unk_len += byte_len;
        } else {
          if (has_unk) add(unk_id, unk_len);
          has_unk = true;
          unk_id = unk_;
          unk_len = byte_len;
        }
      }
      // No unk_token: the character is dropped, as Hugging Face does.
    }
    if (has_unk) add(unk_id, unk_len);
    merge_all(symbols);
    result.clear();
    uint32_t pos = 0;
    for (const Symbol& sym : symbols) {
      if (sym.len == 0) continue;
      result.push_back({sym.c, pos, pos + sym.len});
      pos += sym.len;
    }
  }

  const std::pair<uint32_t, int32_t>* find_merge(int32_t a, int32_t b) const {
    const auto it = merges_.find(key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }

  void merge_all(std::vector<Symbol>& symbols) const {
    std::priority_queue<MergeEntry, std::vector<MergeEntry>, MergeLater> queue;
    for (size_t i = 0; i + 1 < symbols.size(); ++i)
      if (const auto* m = find_merge(symbols[i].c, symbols[i + 1].c)) queue.push({static_cast<uint32_t>(i), m->first, m->second});
    while (!queue.empty()) {
      const MergeEntry top = queue.top();
      queue.pop();
      Symbol& cur = symbols[top.pos];
      if (cur.len == 0 || cur.next == -1) continue;
      const size_t next_pos = static_cast<size_t>(cur.next);
      const Symbol right = symbols[next_pos];
      const auto* target = find_merge(cur.c, right.c);
      if (target == nullptr || target->second != top.new_id) continue;  // a stale entry
      cur.c = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      symbols[next_pos].len = 0;
      if (right.next > -1 && static_cast<size_t>(right.next) < symbols.size())
        symbols[static_cast<size_t>(right.next)].prev = static_cast<int32_t>(top.pos);
      const Symbol current = symbols[top.pos];
      if (current.prev >= 0) {
        const Symbol& prev = symbols[static_cast<size_t>(current.prev)];
        if (const auto* m = find_merge(prev.c, current.c)) queue.push({static_cast<uint32_t>(current.prev), m->first, m->second});
      }
      if (current.next >= 0 && static_cast<size_t>(current.next) < symbols.size()) {
        const Symbol& nxt = symbols[static_cast<size_t>(current.next)];
        if (const auto* m = find_merge(current.c, nxt.c)) queue.push({top.pos, m->first, m->second});
      }
    }
  }

  BpeOptions o_;
  uint64_t serial_;
  TokenTable table_;
  std::vector<std::string> tokens_;  // id -> token
  size_t size_ = 0;
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;  // (a, b) -> (rank, new id)
  int32_t unk_ = -1;
  int32_t byte_ids_[256];
  std::vector<std::pair<uint32_t, uint32_t>> trims_;
};

}  // namespace

ModelPtr make_bpe_model(std::vector<std::pair<std::string, uint32_t>> vocab, std::vector<std::pair<std::string, std::string>> merges,
                        const BpeOptions& o, const std::string& what) {
  return std::make_shared<Bpe>(std::move(vocab), std::move(merges), o, what);
}

}  // namespace bert
