// The bf16 packed linear kernel (kernels/packed_gemm_bf16.h) against libtorch's float32 linear on the
// same operands rounded to bf16, its answer rounded once to bf16 (shapes its blocking does not divide: rows past the 12-row block and
// the 144-row cache block, partial panels, odd k and k across its 512 k-blocks, GELU); the same bits
// at any batch size and thread split; and a mixed bf16 fixture served through it, no further from its
// float32 answer than libtorch's own bf16 linear layers are.
#include <ATen/Parallel.h>
#include <sys/stat.h>
#include <torch/script.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/kernels/packed_gemm_bf16.h"
#include "engine/kernels/packed_linear_op.h"
#include "engine/model/model.h"
#include "engine/model/probe.h"
#include "engine/text/tokenizer.h"
// After the engine headers: see check.h on glog's CHECK macros.
#include "check.h"

using namespace bert;

namespace {

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

at::Tensor rounded(const at::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat); }

bool skip() {
  if (kernels::bf16_gemm_supported()) return false;
  std::printf("  # this CPU lacks AVX-512 BF16: bf16 keeps libtorch's linear layers (nothing to test)\n");
  return true;
}

}  // namespace

TEST_CASE(bf16_kernel_matches_float32_linear_on_rounded_operands) {
  if (skip()) return;
  c10::InferenceMode guard;
  torch::manual_seed(3);
  for (int64_t m : {1, 5, 12, 13, 150, 301}) {
    for (int64_t n : {15, 16, 17, 48, 100}) {
      for (int64_t k : {1, 7, 511, 512, 513, 1030}) {
        at::Tensor x = torch::randn({m, k}), w = torch::randn({n, k}) / std::sqrt(double(k)), b = torch::randn({n});
        auto packed = kernels::PackedLinearWeights::bf16(w, b);
        const at::Tensor want = at::linear(rounded(x), rounded(w), b);
        for (int64_t act : {0, 1}) {
          const at::Tensor got = kernels::packed_linear(x, packed, act);
          CHECK(got.scalar_type() == torch::kBFloat16);
          // Float32 sums of exact bf16 products (in another order than the BLAS's), rounded once to
          // bf16 at the end: within half a bf16 ulp (2^-8 relative: 8 significant bits) of the float32 answer, plus a little.
          const at::Tensor ref = act ? at::gelu(want) : want;
          const double err = ((got.to(torch::kFloat) - ref).abs() - ref.abs() * (1.0 / 256)).max().item<double>() /
                             std::max(1.0, ref.abs().max().item<double>());
          if (err > 1e-5) std::fprintf(stderr, "  m=%ld n=%ld k=%ld act=%ld: error beyond rounding %g\n", m, n, k, act, err);
          CHECK(err <= 1e-5);
        }
        // A bf16 input is the same input: its values are already bf16.
        CHECK(at::equal(kernels::packed_linear(x.to(torch::kBFloat16), packed, 0), kernels::packed_linear(rounded(x), packed, 0)));
      }
    }
  }
}

TEST_CASE(bf16_answers_do_not_move_with_batch_or_threads) {
  if (skip()) return;
  c10::InferenceMode guard;
  torch::manual_seed(13);
  // Both of the op's splits (output panels below two row blocks, rows from there), one and two
  // threads, and every row alone: the same bits.
  const int64_t k = 1030, n = 70;
  auto packed = kernels::PackedLinearWeights::bf16(torch::randn({n, k}) / 32, torch::randn({n}));
  at::Tensor x = torch::randn({2 * kernels::kRowBlock + 13, k});
  const int before = at::get_num_threads();
  for (int64_t m : {int64_t{7}, kernels::kRowBlock + 1, 2 * kernels::kRowBlock - 1, 2 * kernels::kRowBlock + 13}) {
    at::Tensor xm = x.narrow(0, 0, m);
    at::set_num_threads(2);
    const at::Tensor two = kernels::packed_linear(xm, packed, 1);
    at::set_num_threads(1);
    CHECK(at::equal(kernels::packed_linear(xm, packed, 1), two));
    for (int64_t row : {int64_t{0}, int64_t{6}, m / 2, m - 1})
      CHECK(at::equal(kernels::packed_linear(xm.narrow(0, row, 1), packed, 1), two.narrow(0, row, 1)));
  }
  at::set_num_threads(before);
}

// A mixed bf16 fixture (mixed_precision.h) loaded with BERT_SERVE_PACKED_BF16=1 runs its encoder's linear layers on the bf16 kernel,
// passes the load-time probe against libtorch's bf16 layers, and answers at least as close to its
// float32 self as libtorch's bf16 layers do (what loads without BERT_SERVE_PACKED_BF16=1).
TEST_CASE(mixed_bf16_fixture_runs_packed_and_no_less_accurate) {
  if (skip()) return;
  for (const char* name : {"mlm-traced", "classify"}) {
    const std::string dir = std::string("models/test/") + name;
    if (!exists(dir + "/model.pt")) {
      std::fprintf(stderr, "  %s is missing: run scripts/make_test_models.py models/test\n", dir.c_str());
      CHECK(false);
      continue;
    }
    const ModelConfig config = ModelConfig::load(dir + "/config.json");
    const auto tokenizer = Tokenizer::load(dir);
    c10::InferenceMode guard;
    Model fp32(dir, config, DeviceSpec{});
    const Probe probe = make_probe(fp32, *tokenizer, true);
    const at::Tensor want = probe_forward(fp32, probe).to(torch::kFloat);

    ::setenv("BERT_SERVE_PACKED_BF16", "1", 1);
    Model packed(dir, config, DeviceSpec{torch::kCPU, torch::kBFloat16});
    ::unsetenv("BERT_SERVE_PACKED_BF16");
    CHECK(packed.linear_kernel().find("in bf16") != std::string::npos);
    const at::Tensor got = probe_forward(packed, probe).to(torch::kFloat);
    CHECK(!packed.rewrite_unsettled());
    CHECK(packed.linear_kernel().find("checked against libtorch's on the load-time probe") != std::string::npos);

    Model libtorch(dir, config, DeviceSpec{torch::kCPU, torch::kBFloat16});
    CHECK(libtorch.linear_kernel() == "libtorch linear layers");
    const at::Tensor old = probe_forward(libtorch, probe).to(torch::kFloat);
    const double e_packed = relative_error(got, want), e_libtorch = relative_error(old, want);
    std::printf("  # %s: relative error against float32: packed bf16 %.3g, libtorch bf16 %.3g\n", name, e_packed, e_libtorch);
    CHECK(e_packed <= e_libtorch);
  }
}

int main() { return bert_test::run_all(); }
