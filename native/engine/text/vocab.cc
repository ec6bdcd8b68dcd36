#include "engine/text/vocab.h"

#include <cstring>

namespace bert {

uint64_t TokenTable::hash(std::string_view key) {
  // 64-bit multiply-mix over 8-byte chunks: tokens are short (a few bytes), so this is a handful of
  // instructions; quality is ample for ~30k keys at load factor <= 1/2.
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  size_t n = key.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= uint64_t(p[i]) << (8 * i);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 32;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 29;
  return h;
}

void TokenTable::grow() {
  const size_t cap = slots_.empty() ? 64 : slots_.size() * 2;
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    const uint64_t h = hash(std::string_view(arena_.data() + s.offset, s.len));
    size_t i = h & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void TokenTable::insert(std::string_view key, int32_t id) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash(key);
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.id < 0) break;
    if (s.tag == tag && s.len == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
      s.id = id;
      return;
    }
  }
  Slot& s = slots_[i];
  s.offset = static_cast<uint32_t>(arena_.size());
  s.len = static_cast<uint32_t>(key.size());
  s.tag = tag;
  s.id = id;
  arena_.append(key.data(), key.size());
  ++count_;
  if (key.size() > max_key_bytes_) max_key_bytes_ = key.size();
}

Vocab::Vocab(std::vector<std::string> tokens, const std::string& continuing_prefix)
    : tokens_(std::move(tokens)), prefix_(continuing_prefix) {
  // Empty entries are holes in a tokenizer.json id space; no piece is ever empty, so skip them.
  for (size_t id = 0; id < tokens_.size(); ++id)
    if (!tokens_[id].empty()) add(tokens_[id], static_cast<int32_t>(id));
}

void Vocab::add(std::string_view token, int32_t id) {
  if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(static_cast<size_t>(id) + 1);
  if (tokens_[static_cast<size_t>(id)] != token) tokens_[static_cast<size_t>(id)] = std::string(token);
  all_.insert(token, id);
  if (!prefix_.empty() && token.size() > prefix_.size() && token.substr(0, prefix_.size()) == prefix_)
    continuation_.insert(token.substr(prefix_.size()), id);
}

}  // namespace bert
