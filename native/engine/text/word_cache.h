// A per-thread cache of a model's recent words (piece -> its tokens), as `tokenizers` keeps for BPE
// and Unigram (10,000 words of under 256 bytes per model; once full, nothing more is added). Keyed by
// a model serial number, never by address, so a model loaded where a freed one lived cannot read the
// old one's entries; a thread keeps the caches of its 4 most recently used models.
//
// Threading: each thread has its own caches; nothing is shared.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bert {

struct CachedPiece {
  int32_t id;
  uint32_t start, end;  // bytes of the piece this token covers
};

class WordCache {
 public:
  static constexpr size_t kCapacity = 10000;
  static constexpr size_t kMaxWordBytes = 256;

  static uint64_t next_serial() {
    static std::atomic<uint64_t> serial{1};
    return serial.fetch_add(1);
  }

  // The calling thread's cache for model `serial`.
  static std::unordered_map<std::string, std::vector<CachedPiece>>& of(uint64_t serial) {
    thread_local std::vector<std::pair<uint64_t, std::unordered_map<std::string, std::vector<CachedPiece>>>> caches;
    for (size_t i = 0; i < caches.size(); ++i) {
      if (caches[i].first != serial) continue;
      if (i != 0) std::swap(caches[i], caches[0]);
      return caches[0].second;
    }
    if (caches.size() >= 4) caches.pop_back();
    caches.insert(caches.begin(), {serial, {}});
    return caches[0].second;
  }

  static bool cacheable(std::string_view word, size_t size) { return word.size() < kMaxWordBytes && size < kCapacity; }
};

}  // namespace bert
