// gemm: the packed float32 linear layer (kernels/packed_linear_op.h) against libtorch's own
// at::linear (OpenBLAS) on the same operands, BERT-base's three linear shapes at several row counts.
// The two alternate within each round (A, B, A, B ...) and each keeps its best round, so a loaded
// machine disturbs both alike; CPU time (the whole process's, so a second intra-op thread counts)
// is the measure that holds under load, wall time the one a quiet machine shows.
//
// Usage: gemm [--threads N] [--rounds R] [--rows 1,16,128,512,4096]
// Prints one JSON line per shape: GFLOP/s by CPU and by wall time for each, and packed / libtorch
// (CPU time ratio; > 1: the packed layer is faster).
#include <ATen/Parallel.h>
#include <time.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "engine/kernels/packed_linear_op.h"

namespace {

double clock_s(clockid_t id) {
  timespec t;
  clock_gettime(id, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "gemm: %s\nusage: gemm [--threads N] [--rounds R] [--rows 1,16,128,512,4096]\n", why.c_str());
  std::exit(2);
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0) usage("--rows: positive integers separated by commas, got " + s);
    out.push_back(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 5;
  std::vector<int64_t> rows = {1, 16, 128, 512, 4096};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--threads")
      threads = std::atoi(v.c_str());
    else if (a == "--rounds")
      rounds = std::atoi(v.c_str());
    else if (a == "--rows")
      rows = parse_list(v);
    else
      usage("unknown option " + a);
  }
  if (threads < 1 || rounds < 1) usage("--threads and --rounds must be >= 1");
  if (!bert::kernels::packed_gemm_supported()) usage("this CPU lacks AVX2/FMA: the engine keeps libtorch's linear layers");
  at::set_num_threads(threads);
  c10::InferenceMode inference;
  torch::manual_seed(1);
  const int64_t shapes[][2] = {{768, 768}, {3072, 768}, {768, 3072}};  // {out, in}
  for (const auto& s : shapes) {
    const int64_t n = s[0], k = s[1];
    const at::Tensor w = torch::randn({n, k}) / 32, b = torch::randn({n});
    const auto packed = c10::make_intrusive<bert::kernels::PackedLinearWeights>(w, b);
    for (const int64_t m : rows) {
      const at::Tensor x = torch::randn({m, k});
      const double flop = 2.0 * static_cast<double>(m * n * k);
      const int reps = std::max(3, static_cast<int>(2e9 / flop));  // ~2 GFLOP per timed stretch
      double cpu[2] = {1e30, 1e30}, wall[2] = {1e30, 1e30};
      for (int r = 0; r < rounds; ++r) {
        for (int method = 0; method < 2; ++method) {
          const double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
          for (int i = 0; i < reps; ++i) {
            const at::Tensor y = method == 0 ? bert::kernels::packed_linear(x, packed, 0) : at::linear(x, w, b);
          }
          cpu[method] = std::min(cpu[method], (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps);
          wall[method] = std::min(wall[method], (clock_s(CLOCK_MONOTONIC) - w0) / reps);
        }
      }
      std::printf(
          "{\"m\":%lld,\"n\":%lld,\"k\":%lld,\"threads\":%d,\"packed_gflops_cpu\":%.1f,\"packed_gflops_wall\":%.1f,"
          "\"libtorch_gflops_cpu\":%.1f,\"libtorch_gflops_wall\":%.1f,\"packed_over_libtorch_cpu\":%.3f}\n",
          static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k), threads, flop / cpu[0] * 1e-9,
          flop / wall[0] * 1e-9, flop / cpu[1] * 1e-9, flop / wall[1] * 1e-9, cpu[1] / cpu[0]);
      std::fflush(stdout);
    }
  }
  return 0;
}
