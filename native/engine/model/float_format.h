// Float arrays as answer bytes: JSON numbers in their shortest float32 form ("0.0123", as
// text-embeddings-inference writes them; a float32 has no more digits worth sending), or base64 of
// the little-endian float32 bytes (what OpenAI's embeddings clients decode).
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/errors.h"

namespace bert {

// A non-finite value throws, as JsonWriter::number (the embedding head checks before writing).
inline void append_f32(std::string& out, float v) {
  if (!std::isfinite(v)) throw EngineError(ErrorCode::kInternal, "a non-finite number reached an answer");
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void append_f32_array(std::string& out, const float* v, int64_t n) {
  out.push_back('[');
  for (int64_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    append_f32(out, v[i]);
  }
  out.push_back(']');
}

// "<base64>" (quoted) of n little-endian float32 values (x86 and ARM hosts are little-endian).
inline void append_f32_base64(std::string& out, const float* v, int64_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(v);
  const size_t len = static_cast<size_t>(n) * 4;
  out.push_back('"');
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    const uint32_t x = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8) | p[i + 2];
    out.push_back(tbl[x >> 18]);
    out.push_back(tbl[(x >> 12) & 63]);
    out.push_back(tbl[(x >> 6) & 63]);
    out.push_back(tbl[x & 63]);
  }
  if (i < len) {
    uint32_t x = uint32_t(p[i]) << 16;
    if (i + 1 < len) x |= uint32_t(p[i + 1]) << 8;
    out.push_back(tbl[x >> 18]);
    out.push_back(tbl[(x >> 12) & 63]);
    out.push_back(i + 1 < len ? tbl[(x >> 6) & 63] : '=');
    out.push_back('=');
  }
  out.push_back('"');
}

}  // namespace bert
