#include "engine/text/vocab.h"

namespace bert {

uint64_t TokenTable::hash_tail(std::string_view key, uint64_t h) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data()) + 8;
  size_t n = key.size() - 8;
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
  return (h ^ w) * 0xC4CEB9FE1A85EC53ull;
}

size_t TokenTable::slot_for_insert(std::string_view key, uint64_t prefix, uint64_t h) const {
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.id < 0) return i;
    if (s.prefix == prefix && s.len == key.size() && std::memcmp(arena_.data() + offsets_[i], key.data(), key.size()) == 0) return i;
  }
}

void TokenTable::grow() {
  const size_t cap = slots_.empty() ? 64 : slots_.size() * 2;
  std::vector<Slot> old_slots(cap);
  std::vector<uint32_t> old_offsets(cap, 0);
  old_slots.swap(slots_);
  old_offsets.swap(offsets_);
  mask_ = cap - 1;
  for (size_t j = 0; j < old_slots.size(); ++j) {
    const Slot& s = old_slots[j];
    if (s.id < 0) continue;
    const std::string_view key(arena_.data() + old_offsets[j], s.len);
    size_t i = hash(key, s.prefix) & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
    offsets_[i] = old_offsets[j];
  }
}

void TokenTable::insert(std::string_view key, int32_t id) {
  if (key.size() > 0xFFFF) return;  // no piece of a word (at most a few hundred bytes) can be this long
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t prefix = load_prefix(key);
  const uint64_t h = hash(key, prefix);
  const uint32_t bit = static_cast<uint32_t>(h >> 32) & (kFilterBits - 1);
  filter_[bit >> 6] |= uint64_t(1) << (bit & 63);
  const size_t i = slot_for_insert(key, prefix, h);
  Slot& s = slots_[i];
  if (s.id >= 0) {
    s.id = id;
    return;
  }
  s.prefix = prefix;
  s.id = id;
  s.len = static_cast<uint16_t>(key.size());
  s.tag = static_cast<uint16_t>(h >> 48);
  offsets_[i] = static_cast<uint32_t>(arena_.size());
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
