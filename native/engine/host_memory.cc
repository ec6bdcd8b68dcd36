#include "engine/host_memory.h"

#include "engine/block_cache.h"

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

// jemalloc, when it is the process's malloc (bin/bert-serve preloads it): its mallctl is then
// visible to every library, and glibc's thresholds would tune an allocator nobody calls.
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
  const char* choice = std::getenv("BERT_SERVE_MALLOC");
  if (choice && std::strcmp(choice, "untuned") == 0) {
    return "glibc defaults, libtorch's own allocator (BERT_SERVE_MALLOC=untuned)";
  }
  const std::string cache = install_block_cache();
  std::string je = jemalloc_in_use();
  if (!je.empty()) return je + "; " + cache;
  if (user_tuned_malloc()) return "glibc, tuned by the environment (MALLOC_* / GLIBC_TUNABLES); " + cache;
#if defined(__GLIBC__)
  // What is left for malloc above 128 KiB once tensors are in the block cache: OpenBLAS's threaded
  // GEMM allocates and frees a 512 KiB job table on every call (hundreds a batch, on both intra-op
  // threads), plus rare buffers (answers, the tokenizer's files). Below the 1 MiB mmap threshold
  // the job tables are reused from the arenas instead of being mapped and unmapped (a syscall and
  // a TLB shootdown each: BERT-base 32 x 128 ran 1.2-1.3x slower); the trim threshold keeps glibc
  // from shrinking and regrowing the heap around them. Setting them also turns off glibc's dynamic
  // threshold, which would otherwise follow the largest buffer ever freed.
  constexpr int kMiB = 1 << 20;
  if (mallopt(M_MMAP_THRESHOLD, kMiB) != 1 || mallopt(M_TRIM_THRESHOLD, 64 * kMiB) != 1) {
    return "glibc defaults (mallopt refused the thresholds); " + cache;
  }
  return "glibc (mmap threshold 1 MiB, trim threshold 64 MiB); " + cache;
#else
  return "the C library's defaults (not glibc); " + cache;
#endif
}

}  // namespace

const std::string& apply_memory_policy() {
  static const std::string policy = apply();
  return policy;
}

}  // namespace bert
