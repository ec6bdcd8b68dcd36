// Shared by the fuzz targets: where the real tokenizer files are, and the finding reporter.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bert_fuzz {

// BERT_SERVE_SHARED_DATA, else the copy vendored in the repository (run from the repository root).
inline std::string shared_data(const std::string& name) {
  const char* env = std::getenv("BERT_SERVE_SHARED_DATA");
  return std::string(env && *env ? env : "test/data/shared") + "/" + name;
}

// A broken invariant: print it and abort, which libFuzzer reports as a crash with the input saved.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace bert_fuzz

#define FUZZ_CHECK(cond, detail)                 \
  do {                                           \
    if (!(cond)) bert_fuzz::fail(#cond, detail); \
  } while (0)
