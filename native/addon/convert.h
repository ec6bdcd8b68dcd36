// Conversions shared by the addon's wrappers. Runs on the JS thread only.
#pragma once
#include <napi.h>

#include <string>

#include "engine/errors.h"

namespace bert_addon {

// A JS Error with a stable `code` property (see src/errors.ts, which turns it into a typed error).
inline Napi::Error make_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

inline Napi::Error make_error(Napi::Env env, const bert::EngineError& e) {
  return make_error(env, bert::error_code_name(e.code()), e.what());
}

// Runs `fn`, turning every C++ exception into a JS exception (docs/traps.md#9: only Napi::Error crosses).
template <class Fn>
auto guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const bert::EngineError& e) {
    throw make_error(env, e);
  } catch (const std::exception& e) {
    throw make_error(env, "ERR_INTERNAL", std::string("internal error: ") + e.what());
  }
}

}  // namespace bert_addon
