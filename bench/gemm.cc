// gemm: the packed float32 linear layer (kernels/packed_linear_op.h), on AVX2 and, where the CPU has
// it, AVX-512, against libtorch's own at::linear (OpenBLAS) and against oneDNN's linear (libtorch's
// MKL-DNN, weights reordered once) on the same operands, BERT-base's linear shapes (the three of a
// layer and the fused QKV projection) at several row counts and thread counts.
// The methods alternate within each round (A, B, C, D, A, B, ...) and each keeps its best round, so a
// loaded machine disturbs them alike; CPU time (the whole process's, so a second intra-op thread counts)
// is the measure that holds under load, wall time the one a quiet machine shows.
//
// Where the CPU has AVX-512 BF16, two more alternate with them: the packed bf16 layer
// (kernels/packed_gemm_bf16.h: float32 x rounded to bf16 while packed, float32 sums rounded to a bf16 output) and libtorch's
// own bf16 linear (bf16 x, bf16 weights, bf16 out, as the mixed bf16 path ran before it).
//
// Usage: gemm [--threads 1,2] [--rounds R] [--rows 1,16,128,512,4096]
// Prints one JSON line per shape and thread count: GFLOP/s by CPU and by wall time for each, and
// packed (the preferred instruction set) / libtorch, / oneDNN and / packed on AVX2 (CPU time
// ratios; > 1: the packed layer is faster), and with bf16 the packed bf16 layer's GFLOP/s and
// bf16 / packed float32 and bf16 / libtorch bf16 (CPU time ratios). The packed layer's answers on the two instruction sets
// are checked equal bit for bit before timing.
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

#include "engine/kernels/packed_gemm_bf16.h"
#include "engine/kernels/packed_linear_op.h"

namespace {

double clock_s(clockid_t id) {
  timespec t;
  clock_gettime(id, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "gemm: %s\nusage: gemm [--threads 1,2] [--rounds R] [--rows 1,16,128,512,4096]\n", why.c_str());
  std::exit(2);
}

std::vector<int64_t> parse_list(const std::string& flag, const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0) usage(flag + ": positive integers separated by commas, got " + s);
    out.push_back(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  std::vector<int64_t> rows = {1, 16, 128, 512, 4096}, thread_counts = {1, 2};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--threads")
      thread_counts = parse_list(a, v);
    else if (a == "--rounds")
      rounds = std::atoi(v.c_str());
    else if (a == "--rows")
      rows = parse_list(a, v);
    else
      usage("unknown option " + a);
  }
  if (rounds < 1) usage("--rounds must be >= 1");
  if (!bert::kernels::packed_gemm_supported()) usage("this CPU lacks AVX2/FMA: the engine keeps libtorch's linear layers");
  c10::InferenceMode inference;
  torch::manual_seed(1);
  const int64_t shapes[][2] = {{768, 768}, {3072, 768}, {768, 3072}, {2304, 768}};  // {out, in}
  using bert::kernels::Isa;
  const Isa best = bert::kernels::preferred_isa();
  for (const auto& s : shapes) {
    const int64_t n = s[0], k = s[1];
    const at::Tensor w = torch::randn({n, k}) / 32, b = torch::randn({n});
    const auto packed = c10::make_intrusive<bert::kernels::PackedLinearWeights>(w, b);
    // oneDNN (libtorch's MKL-DNN) with its weights reordered once, as the packed ones are; the
    // input's and output's conversions to and from its layout are paid per call, as a model would.
    const at::Tensor w_onednn = w.to_mkldnn(), b_onednn = b.to_mkldnn();
    const bool bf16 = bert::kernels::bf16_gemm_supported();
    const auto packed_bf16 = bf16 ? bert::kernels::PackedLinearWeights::bf16(w, b) : c10::intrusive_ptr<bert::kernels::PackedLinearWeights>();
    const at::Tensor w_bf16 = w.to(torch::kBFloat16), b_bf16 = b.to(torch::kBFloat16);
    for (const int64_t m : rows) {
      for (const int64_t threads : thread_counts) {
        at::set_num_threads(static_cast<int>(threads));
        const at::Tensor x = torch::randn({m, k});
        const double flop = 2.0 * static_cast<double>(m * n * k);
        const int reps = std::max(3, static_cast<int>(2e9 / flop));  // ~2 GFLOP per timed stretch
        const at::Tensor x_bf16 = x.to(torch::kBFloat16);
        const int methods = bf16 ? 6 : 4;
        const auto run = [&](int method) {
          if (method == 0) return bert::kernels::packed_linear_on(x, packed, 0, best);
          if (method == 1) return at::linear(x, w, b);
          if (method == 2) return at::mkldnn_linear(x.to_mkldnn(), w_onednn, b_onednn).to_dense();
          if (method == 4) return bert::kernels::packed_linear(x, packed_bf16, 0);
          if (method == 5) return at::linear(x_bf16, w_bf16, b_bf16);
          return bert::kernels::packed_linear_on(x, packed, 0, Isa::kAvx2);
        };
        if (!at::equal(run(0), run(3))) {
          std::fprintf(stderr, "gemm: %s and avx2 answers differ at m=%lld n=%lld k=%lld\n", bert::kernels::isa_name(best),
                       static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k));
          return 1;
        }
        double cpu[6], wall[6];
        std::fill(cpu, cpu + 6, 1e30);
        std::fill(wall, wall + 6, 1e30);
        for (int r = 0; r < rounds; ++r) {
          for (int method = 0; method < methods; ++method) {
            const double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
            for (int i = 0; i < reps; ++i) run(method);
            cpu[method] = std::min(cpu[method], (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps);
            wall[method] = std::min(wall[method], (clock_s(CLOCK_MONOTONIC) - w0) / reps);
          }
        }
        std::printf(
            "{\"m\":%lld,\"n\":%lld,\"k\":%lld,\"threads\":%d,\"isa\":\"%s\",\"packed_gflops_cpu\":%.1f,\"packed_gflops_wall\":%.1f,"
            "\"packed_avx2_gflops_cpu\":%.1f,\"packed_avx2_gflops_wall\":%.1f,"
            "\"libtorch_gflops_cpu\":%.1f,\"libtorch_gflops_wall\":%.1f,\"onednn_gflops_cpu\":%.1f,\"onednn_gflops_wall\":%.1f,"
            "\"packed_over_libtorch_cpu\":%.3f,\"packed_over_onednn_cpu\":%.3f,\"packed_over_avx2_cpu\":%.3f",
            static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k), static_cast<int>(threads),
            bert::kernels::isa_name(best), flop / cpu[0] * 1e-9, flop / wall[0] * 1e-9, flop / cpu[3] * 1e-9, flop / wall[3] * 1e-9,
            flop / cpu[1] * 1e-9, flop / wall[1] * 1e-9, flop / cpu[2] * 1e-9, flop / wall[2] * 1e-9, cpu[1] / cpu[0], cpu[2] / cpu[0],
            cpu[3] / cpu[0]);
        if (bf16)
          std::printf(
              ",\"packed_bf16_gflops_cpu\":%.1f,\"packed_bf16_gflops_wall\":%.1f,\"libtorch_bf16_gflops_cpu\":%.1f,"
              "\"libtorch_bf16_gflops_wall\":%.1f,\"bf16_over_packed_cpu\":%.3f,\"bf16_over_libtorch_bf16_cpu\":%.3f",
              flop / cpu[4] * 1e-9, flop / wall[4] * 1e-9, flop / cpu[5] * 1e-9, flop / wall[5] * 1e-9, cpu[0] / cpu[4], cpu[5] / cpu[4]);
        std::printf("}\n");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
