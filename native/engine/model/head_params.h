// Reading a head's per-request options from the JSON the caller's wrapper wrote (src/engine.ts has
// already validated types; these checks are the engine's own last line, with the same messages).
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "engine/errors.h"

namespace bert {

inline nlohmann::json parse_params(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw EngineError(ErrorCode::kInvalidArgument, "request options must be a JSON object");
  return j;
}

inline int64_t int_param(const nlohmann::json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
    throw EngineError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be an integer between " +
                                                       std::to_string(lo) + " and " + std::to_string(hi));
  return it->get<int64_t>();
}

inline bool bool_param(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw EngineError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a boolean");
  return it->get<bool>();
}

inline std::string string_param(const nlohmann::json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw EngineError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace bert
