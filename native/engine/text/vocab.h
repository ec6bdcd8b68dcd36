// Vocab: the WordPiece vocabulary (token <-> id) with allocation-free lookups by string_view.
//
// Why not std::unordered_map<std::string, int>: C++17 has no heterogeneous lookup, so every probe
// would build a std::string, and encode() probes several times per word. This is an open-addressing
// table over one arena of token bytes, with a 32-bit hash tag checked before memcmp.
//
// Threading: built once by the loader, then immutable; lookups are const and safe from any thread.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bert {

class TokenTable {
 public:
  // Maps `key` to `id`; a later insert of the same key replaces the id (as Hugging Face's vocab.txt
  // reader does with duplicate lines).
  void insert(std::string_view key, int32_t id);
  // -1 when absent.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && s.len == key.size() && std::char_traits<char>::compare(arena_.data() + s.offset, key.data(), key.size()) == 0)
        return s.id;
    }
  }
  size_t size() const { return count_; }
  size_t max_key_bytes() const { return max_key_bytes_; }

  static uint64_t hash(std::string_view key);

 private:
  struct Slot {
    uint32_t offset = 0, len = 0, tag = 0;
    int32_t id = -1;  // -1: empty
  };
  void grow();

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0, count_ = 0, max_key_bytes_ = 0;
};

// The vocabulary of a WordPiece model: every token by id, a table over all of them, and a second
// table over the continuation tokens keyed WITHOUT their "##" prefix, so that the greedy matcher
// looks up a word's suffix in place, without building "##" + suffix strings.
class Vocab {
 public:
  Vocab() = default;
  Vocab(std::vector<std::string> tokens, const std::string& continuing_prefix);

  int32_t find(std::string_view token) const { return all_.find(token); }
  int32_t find_continuation(std::string_view suffix) const {
    return prefix_.empty() ? all_.find(suffix) : continuation_.find(suffix);
  }
  // Longest token / continuation suffix in bytes: the matcher never tries a longer piece.
  size_t max_token_bytes() const { return all_.max_key_bytes(); }
  size_t max_continuation_bytes() const {
    return prefix_.empty() ? all_.max_key_bytes() : continuation_.max_key_bytes();
  }

  size_t size() const { return tokens_.size(); }
  const std::string& token(size_t id) const { return tokens_[id]; }
  // Adds a token with a given id (an added token beyond the model vocabulary); grows the id space.
  void add(std::string_view token, int32_t id);

 private:
  std::vector<std::string> tokens_;
  TokenTable all_, continuation_;
  std::string prefix_;
};

}  // namespace bert
