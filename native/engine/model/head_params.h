// Reading a head's per-request options from the canonical JSON the caller wrote: src/tasks/*.ts
// checked every value against its declaration and filled every default, so a head reads them as
// they are and checks only what needs the encoded request (a mask count, targets that map to no
// token). A missing or mistyped key is a bug on the writing side, reported as kInternal.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/errors.h"

namespace bert {

inline nlohmann::json parse_params(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw EngineError(ErrorCode::kInternal, "request options are not the canonical JSON object");
  return j;
}

// The value of `key` (null: none), as T.
template <typename T>
std::optional<T> param(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw EngineError(ErrorCode::kInternal, std::string("request options lack \"") + key + "\"");
  if (it->is_null()) return std::nullopt;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw EngineError(ErrorCode::kInternal, std::string("request option \"") + key + "\" has the wrong type");
  }
}

// The value of `key`, which the canonical options always give.
template <typename T>
T required_param(const nlohmann::json& j, const char* key) {
  std::optional<T> v = param<T>(j, key);
  if (!v) throw EngineError(ErrorCode::kInternal, std::string("request option \"") + key + "\" is null");
  return *v;
}

}  // namespace bert
