#include "engine/host_memory.h"

#include "engine/block_cache.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdint>
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

using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

// jemalloc's mallctl when jemalloc is the process's malloc (bin/bert-serve preloads it): it is then
// visible to every library, and glibc's thresholds would tune an allocator nobody calls.
Mallctl jemalloc_mallctl() {
  static const auto fn = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

std::string jemalloc_in_use() {
  const Mallctl mallctl = jemalloc_mallctl();
  if (!mallctl) return {};
  const char* version = nullptr;
  size_t len = sizeof(version);
  std::string out = "jemalloc";
  if (mallctl("version", &version, &len, nullptr, 0) == 0 && version) out += std::string(" ") + version;
  const char* conf = std::getenv("MALLOC_CONF");
  out += conf && *conf ? std::string(" (MALLOC_CONF=") + conf + ")" : std::string(" (its defaults)");
  return out;
}

// oneDNN (GELU in float32 and bfloat16, bfloat16 matmuls, int8 linears) JIT-compiles a kernel for
// every new input shape and keeps up to 1024 of them (its default); with a dynamic batcher every
// (batch size, sequence length) is a new shape, so that cache kept filling for as long as a
// 30-minute soak ran (~13 kernels a minute at the tenth minute, each a 256 KiB code buffer plus
// its descriptors), and RSS crept with it. A smaller bound fills during warm-up; a shape that
// comes back after eviction is compiled again (~0.3-0.7 ms, small next to a batch). The user's
// ONEDNN_PRIMITIVE_CACHE_CAPACITY (or DNNL_...) wins; oneDNN reads it at its first kernel.
constexpr int kOneDnnKernels = 256;

std::string bound_onednn_kernels() {
  for (const char* name : {"ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY"}) {
    if (const char* v = std::getenv(name); v && *v) return std::string("oneDNN kernel cache ") + v + " (" + name + ")";
  }
  using SetCapacity = int (*)(int);
  // Debian's libtorch links oneDNN as libdnnl.so.2; PyTorch's own builds carry it inside libtorch_cpu.
  void* set = nullptr;
  for (const char* lib : {"libdnnl.so.2", "libtorch_cpu.so"}) {
    if (void* handle = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) {
      set = dlsym(handle, "dnnl_set_primitive_cache_capacity");
      dlclose(handle);  // NOLOAD took a reference to a library that stays loaded (libtorch needs it)
      if (set) break;
    }
  }
  if (!set || reinterpret_cast<SetCapacity>(set)(kOneDnnKernels) != 0) return "oneDNN kernel cache: its default";
  return "oneDNN kernel cache " + std::to_string(kOneDnnKernels);
}

std::string apply() {
  const char* choice = std::getenv("BERT_SERVE_MALLOC");
  if (choice && std::strcmp(choice, "untuned") == 0) {
    return "glibc defaults, libtorch's own allocator (BERT_SERVE_MALLOC=untuned)";
  }
  const std::string cache = install_block_cache() + "; " + bound_onednn_kernels();
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

MallocStats malloc_stats() {
  MallocStats out;
  if (const Mallctl mallctl = jemalloc_mallctl()) {
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
    len = sizeof(size_t);
    mallctl("stats.allocated", &out.allocated, &len, nullptr, 0);
    len = sizeof(size_t);
    mallctl("stats.resident", &out.resident, &len, nullptr, 0);
    return out;
  }
#if defined(__GLIBC__)
  const struct mallinfo2 m = mallinfo2();
  out.allocated = m.uordblks + m.hblkhd;
  out.resident = m.arena + m.hblkhd;
#endif
  return out;
}

std::string release_free_memory() {
  if (const Mallctl mallctl = jemalloc_mallctl()) {
    // jemalloc returns freed pages to the kernel only as it decays them, and it decays only when
    // something allocates (no background thread by default): an idle server kept them for good.
    // "arena.<i>.purge" with MALLCTL_ARENAS_ALL (4096 in jemalloc 5) purges every arena's dirty and
    // muzzy pages now. Thread caches keep what they hold (a few small objects per thread).
    constexpr unsigned kAllArenas = 4096;
    const std::string name = "arena." + std::to_string(kAllArenas) + ".purge";
    return mallctl(name.c_str(), nullptr, nullptr, nullptr, 0) == 0 ? "jemalloc purge" : "";
  }
#if defined(__GLIBC__)
  // The trim threshold (64 MiB, apply() above) keeps glibc's heaps from shrinking between batches;
  // malloc_trim(0) gives back every free page of every arena, the heap's interior ones too.
  malloc_trim(0);
  return "malloc_trim";
#else
  return "";
#endif
}

}  // namespace bert
