#include "engine/host_memory.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace bert {

namespace {

// glibc reads these at its first allocation; a user who set one has tuned malloc on purpose.
bool user_tuned_malloc() {
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "MALLOC_", 7) == 0 || std::strncmp(*e, "GLIBC_TUNABLES=", 15) == 0) return true;
  }
  return false;
}

// jemalloc, when it is the process's malloc (`BERT_SERVE_MALLOC=jemalloc bin/bert-serve` preloads
// it): its mallctl is then visible to every library. It keeps freed memory by itself (dirty pages
// decay back to the kernel over seconds), so glibc's thresholds would tune an allocator nobody calls.
std::string jemalloc_in_use() {
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (!mallctl) return {};
  const char* version = nullptr;
  size_t len = sizeof(version);
  std::string out = "jemalloc";
  if (mallctl("version", &version, &len, nullptr, 0) == 0 && version) out += std::string(" ") + version;
  const char* conf = std::getenv("MALLOC_CONF");
  out += conf && *conf ? std::string(" (MALLOC_CONF=") + conf + ")" : std::string(" (its defaults)");
  return out;
}

std::string apply() {
  std::string je = jemalloc_in_use();
  if (!je.empty()) return je;
  const char* choice = std::getenv("BERT_SERVE_MALLOC");
  if (choice && std::strcmp(choice, "glibc") == 0) return "glibc defaults (BERT_SERVE_MALLOC=glibc)";
  if (user_tuned_malloc()) return "glibc, tuned by the environment (MALLOC_* / GLIBC_TUNABLES)";
#if defined(__GLIBC__)
  constexpr int kMiB = 1 << 20;
  // Order matters little; each call is independent. Setting M_MMAP_THRESHOLD also turns off glibc's
  // dynamic threshold, which would otherwise move with the first large free.
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 * kMiB) == 1 && mallopt(M_TRIM_THRESHOLD, 1024 * kMiB) == 1 &&
                  mallopt(M_TOP_PAD, 256 * kMiB) == 1;
  if (!ok) return "glibc defaults (mallopt refused the thresholds)";
  return "glibc, freed memory kept (mmap threshold 32 MiB, trim threshold 1 GiB, top pad 256 MiB)";
#else
  return "the C library's defaults (not glibc)";
#endif
}

}  // namespace

const std::string& keep_freed_memory() {
  static const std::string policy = apply();
  return policy;
}

}  // namespace bert
