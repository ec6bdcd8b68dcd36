// Vocab: the WordPiece vocabulary (token <-> id) with allocation-free lookups by string_view.
//
// Why not std::unordered_map<std::string, int>: C++17 has no heterogeneous lookup, so every probe
// would build a std::string, and encode() probes at least once per word. This is an open-addressing
// table of 16-byte slots; each slot holds the key's first 8 bytes, so a key of up to 8 bytes (most
// words) is compared with one integer compare and never touches the token bytes. In front of it, a
// 64 KiB bitmap of hash bits answers most misses without touching the 1 MiB slot array: WordPiece's
// longest-match-first probes mostly miss (it tries the longest candidate piece first).
//
// Threading: built once by the loader, then immutable; lookups are const and safe from any thread.
#pragma once
#include <cstdint>
#include <cstring>
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
    if (slots_.empty() || key.size() > max_key_bytes_) return -1;
    const uint64_t prefix = load_prefix(key);
    const uint64_t h = hash(key, prefix);
    const uint32_t bit = static_cast<uint32_t>(h >> 32) & (kFilterBits - 1);
    if (!(filter_[bit >> 6] & (uint64_t(1) << (bit & 63)))) return -1;
    const uint16_t tag = static_cast<uint16_t>(h >> 48);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.prefix == prefix && s.len == key.size() &&
          (key.size() <= 8 || (s.tag == tag && std::memcmp(arena_.data() + offsets_[i] + 8, key.data() + 8, key.size() - 8) == 0)))
        return s.id;
    }
  }
  size_t size() const { return count_; }
  size_t max_key_bytes() const { return max_key_bytes_; }

  // The first min(8, size) bytes of `key`, zero-padded, without reading past its end.
  static uint64_t load_prefix(std::string_view key) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    const size_t n = key.size();
    uint64_t w;
    if (n >= 8) {
      std::memcpy(&w, p, 8);
    } else if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      w = uint64_t(lo) | (uint64_t(hi) << (8 * (n - 4)));  // overlapping bytes are equal
    } else if (n > 0) {
      w = uint64_t(p[0]) | (uint64_t(p[n >> 1]) << (8 * (n >> 1))) | (uint64_t(p[n - 1]) << (8 * (n - 1)));
    } else {
      w = 0;
    }
    return w;
  }

  static uint64_t hash(std::string_view key, uint64_t prefix) {
    uint64_t h = (prefix ^ (uint64_t(key.size()) << 59)) * 0x9E3779B97F4A7C15ull;
    if (key.size() > 8) h = hash_tail(key, h);
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 29;
    return h;
  }

 private:
  struct Slot {
    uint64_t prefix = 0;
    int32_t id = -1;  // -1: empty
    uint16_t len = 0;
    uint16_t tag = 0;  // hash bits, checked before memcmp for keys over 8 bytes
  };
  static uint64_t hash_tail(std::string_view key, uint64_t h);
  void grow();
  size_t slot_for_insert(std::string_view key, uint64_t prefix, uint64_t h) const;

  static constexpr uint32_t kFilterBits = 1u << 19;
  std::vector<Slot> slots_;
  std::vector<uint64_t> filter_ = std::vector<uint64_t>(kFilterBits / 64, 0);
  std::vector<uint32_t> offsets_;  // per slot: the key's bytes in arena_ (read only for keys > 8 bytes)
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
  int32_t find_continuation(std::string_view suffix) const { return prefix_.empty() ? all_.find(suffix) : continuation_.find(suffix); }
  // Longest token / continuation suffix in bytes: the matcher never tries a longer piece.
  size_t max_token_bytes() const { return all_.max_key_bytes(); }
  size_t max_continuation_bytes() const { return prefix_.empty() ? all_.max_key_bytes() : continuation_.max_key_bytes(); }

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
