// The packed linear kernel (kernels/packed_gemm.h), its TorchScript operator and the load-time graph
// rewriting (model/graph_opt.h) against libtorch's own linear layers: shapes the kernel's blocking
// does not divide (rows not a multiple of 6, columns not a multiple of 16, k across a cache block),
// GELU in the epilogue, the same bits whichever way the op splits the work over threads (output
// panels or row blocks) and whichever rows share a call, and every fixture of models/test rewritten and compared with the file as it
// was on a padded batch with token types; the load-time probe that settles the rewriting in the
// engine (Model::settle_rewrite).
#include <ATen/Parallel.h>
#include <sys/stat.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <cmath>
#include <string>

#include "engine/kernels/packed_linear_op.h"
#include "engine/model/graph_opt.h"
#include "engine/model/model.h"
#include "engine/model/probe.h"
#include "engine/text/tokenizer.h"
// After the engine headers: see check.h on glog's CHECK macros.
#include "check.h"

using namespace bert;

namespace {

// |a - b| <= tol * max(1, |b|max): the kernel sums in another order than the BLAS (a few ulps per
// term), so the bound scales with k and with the size of the values.
bool close(const at::Tensor& a, const at::Tensor& b, double tol, double* worst = nullptr) {
  const double scale = std::max(1.0, b.abs().max().item<double>());
  const double d = (a - b).abs().max().item<double>();
  if (worst) *worst = d / scale;
  return d <= tol * scale;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

torch::jit::IValue first(torch::jit::IValue v) { return v.isTuple() ? v.toTupleRef().elements()[0] : v; }

}  // namespace

TEST_CASE(kernel_matches_linear_on_ragged_shapes) {
  if (!kernels::packed_gemm_supported()) {
    std::printf("  # this CPU lacks AVX2/FMA: the engine keeps libtorch's linear layers (nothing to test)\n");
    return;
  }
  c10::InferenceMode guard;
  torch::manual_seed(7);
  for (int64_t m : {1, 5, 6, 7, 16, 77, 150, 301}) {
    for (int64_t n : {1, 15, 16, 17, 48, 100}) {
      for (int64_t k : {1, 7, 255, 256, 257, 600}) {
        for (bool with_bias : {true, false}) {
          at::Tensor x = torch::randn({m, k}), w = torch::randn({n, k}) / std::sqrt(double(k)), b = torch::randn({n});
          auto packed = c10::make_intrusive<kernels::PackedLinearWeights>(w, with_bias ? b : at::Tensor());
          at::Tensor want = at::linear(x, w, with_bias ? b : at::Tensor());
          double worst = 0;
          if (!close(kernels::packed_linear(x, packed, 0), want, 1e-5, &worst)) {
            std::fprintf(stderr, "  m=%ld n=%ld k=%ld bias=%d: relative difference %g\n", m, n, k, with_bias, worst);
            CHECK(false);
          }
          if (!close(kernels::packed_linear(x, packed, 1), at::gelu(want), 1e-5, &worst)) {
            std::fprintf(stderr, "  gelu m=%ld n=%ld k=%ld: relative difference %g\n", m, n, k, worst);
            CHECK(false);
          }
        }
      }
    }
  }
}

TEST_CASE(gelu_epilogue_is_exact_gelu_over_its_range) {
  if (!kernels::packed_gemm_supported()) return;
  c10::InferenceMode guard;
  // An identity weight passes x through, so the epilogue alone is compared with torch's erf GELU,
  // including the tails (|x| > 4, where erf rounds to +-1) and zero.
  at::Tensor x = torch::linspace(-12, 12, 4800).reshape({-1, 16});
  auto eye = c10::make_intrusive<kernels::PackedLinearWeights>(torch::eye(16), at::Tensor());
  at::Tensor got = kernels::packed_linear(x, eye, 1), want = at::gelu(x);
  const double d = (got - want).abs().max().item<double>();
  if (d > 2e-6) std::fprintf(stderr, "  largest difference from at::gelu: %g\n", d);
  CHECK(d <= 2e-6);
}

TEST_CASE(op_takes_batched_and_strided_inputs_and_splits_over_threads) {
  if (!kernels::packed_gemm_supported()) return;
  c10::InferenceMode guard;
  torch::manual_seed(3);
  at::Tensor w = torch::randn({96, 64}) / 8, b = torch::randn({96});
  auto packed = c10::make_intrusive<kernels::PackedLinearWeights>(w, b);
  at::Tensor x = torch::randn({3, 40, 128}).narrow(2, 10, 64);  // not contiguous
  at::Tensor y = kernels::packed_linear(x, packed, 0);
  CHECK(y.sizes() == at::IntArrayRef({3, 40, 96}));
  CHECK(close(y, at::linear(x, w, b), 1e-5));
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  at::Tensor one = kernels::packed_linear(x, packed, 0);
  at::set_num_threads(before);
  CHECK(at::equal(one, y));  // each output is computed by one thread either way: same bits
  // And the split really happens: the op's at::parallel_for reaches a second thread (it ran serial
  // when the file was built without OpenMP).
  at::set_num_threads(2);
  CHECK(kernels::parallel_threads_used(6) == 2);
  at::set_num_threads(1);
  CHECK(kernels::parallel_threads_used(6) == 1);
  at::set_num_threads(before);
  bool threw = false;
  try {
    kernels::packed_linear(torch::randn({2, 63}), packed, 0);
  } catch (const c10::Error&) {
    threw = true;
  }
  CHECK(threw);
}

TEST_CASE(row_and_panel_splits_give_the_same_bits_at_any_batch) {
  if (!kernels::packed_gemm_supported()) return;
  c10::InferenceMode guard;
  torch::manual_seed(11);
  // From two row blocks on the op splits rows over the threads instead of output panels: the
  // answer must not move by a bit with the split, the thread count, or the rows that share the call
  // (batch invariance), on both sides of the switch and with rows left over.
  const int64_t k = 300, n = 70;
  at::Tensor w = torch::randn({n, k}) / 16, b = torch::randn({n});
  auto packed = c10::make_intrusive<kernels::PackedLinearWeights>(w, b);
  at::Tensor x = torch::randn({2 * kernels::kRowBlock + 13, k});
  const int before = at::get_num_threads();
  for (int64_t m : {2 * kernels::kRowBlock - 1, 2 * kernels::kRowBlock, 2 * kernels::kRowBlock + 13}) {
    at::Tensor xm = x.narrow(0, 0, m);
    at::set_num_threads(2);
    at::Tensor two = kernels::packed_linear(xm, packed, 1);
    at::set_num_threads(1);
    at::Tensor one = kernels::packed_linear(xm, packed, 1);
    CHECK(at::equal(one, two));
    CHECK(close(two, at::gelu(at::linear(xm, w, b)), 1e-5));
    for (int64_t row : {int64_t{0}, kernels::kRowBlock - 1, kernels::kRowBlock, m / 2 - 1, m / 2, m - 1})
      CHECK(at::equal(kernels::packed_linear(xm.narrow(0, row, 1), packed, 1), two.narrow(0, row, 1)));
  }
  at::set_num_threads(before);
}

TEST_CASE(avx512_and_avx2_kernels_give_the_same_bits) {
  if (!kernels::isa_supported(kernels::Isa::kAvx512)) {
    std::printf("  # this CPU lacks AVX-512: only the AVX2 kernel runs here (nothing to compare)\n");
    return;
  }
  c10::InferenceMode guard;
  torch::manual_seed(5);
  // Every row tail of the 12-row AVX-512 block (1-12 rows, and past a 144-row block), pairs of
  // panels, a lone panel, a partial last panel, k-block tails, both epilogues, one and two threads
  // (the panel split cuts pairs at odd panels): the AVX-512 kernel must compute each output as the
  // AVX2 one does, so an answer does not depend on which of the two CPUs served it.
  const int before = at::get_num_threads();
  for (int64_t m : {1, 5, 6, 7, 11, 12, 13, 150, 301}) {
    for (int64_t n : {15, 16, 32, 48, 70, 100}) {
      for (int64_t k : {1, 255, 257, 600}) {
        at::Tensor x = torch::randn({m, k}), w = torch::randn({n, k}) / std::sqrt(double(k)), b = torch::randn({n});
        auto packed = c10::make_intrusive<kernels::PackedLinearWeights>(w, b);
        for (int threads : {1, 2}) {
          at::set_num_threads(threads);
          for (int64_t act : {0, 1}) {
            const bool same = at::equal(kernels::packed_linear_on(x, packed, act, kernels::Isa::kAvx512),
                                        kernels::packed_linear_on(x, packed, act, kernels::Isa::kAvx2));
            if (!same) std::fprintf(stderr, "  m=%ld n=%ld k=%ld threads=%d act=%ld: the two kernels differ\n", m, n, k, threads, act);
            CHECK(same);
          }
        }
      }
    }
  }
  at::set_num_threads(before);
}

TEST_CASE(rewritten_fixtures_answer_as_the_files_do) {
  if (!packed_linear_enabled()) return;
  c10::InferenceMode guard;
  // Scripted and traced files of every task, as make_test_models.py writes them.
  const char* names[] = {"tiny",
                         "traced",
                         "mlm-traced",
                         "embed",
                         "embed-traced",
                         "encoder",
                         "classify",
                         "classify-traced",
                         "ner",
                         "ner-traced",
                         "rerank",
                         "distilbert-mlm-traced",
                         "roberta-mlm-traced",
                         "electra-mlm-traced",
                         "mpnet-mlm-traced",
                         "xlmr-classify-traced"};
  int fused = 0;
  for (const char* name : names) {
    const std::string path = std::string("models/test/") + name + "/model.pt";
    if (!exists(path)) {
      std::fprintf(stderr, "  %s is missing: run scripts/make_test_models.py models/test\n", path.c_str());
      CHECK(false);
      continue;
    }
    torch::jit::Module as_is = torch::jit::load(path), rewritten = torch::jit::load(path);
    as_is.eval();
    rewritten.eval();
    const GraphOptReport report = pack_linear_layers(rewritten);
    CHECK(report.linear_layers > 0);
    fused += report.fused_gelu;
    // Batch 3 with distinct ids, a padded row and token types.
    at::Tensor ids = torch::randint(1000, 5000, {3, 11}), mask = torch::ones({3, 11}, torch::kLong),
               types = torch::zeros({3, 11}, torch::kLong);
    mask.index_put_({2, torch::indexing::Slice(6, 11)}, 0);
    types.index_put_({torch::indexing::Slice(), torch::indexing::Slice(7, 11)}, 1);
    const size_t inputs = as_is.get_method("forward").function().getSchema().arguments().size() - 1;
    std::vector<torch::jit::IValue> args{ids, mask};
    if (inputs == 3) args.emplace_back(types);
    at::Tensor want = first(as_is.forward(args)).toTensor(), got = first(rewritten.forward(args)).toTensor();
    double worst = 0;
    if (!close(got, want, 1e-5, &worst)) std::fprintf(stderr, "  %s: relative difference %g\n", name, worst);
    CHECK(close(got, want, 1e-5));
    // Every method the heads may call goes through the rewritten graphs too.
    if (auto fm = rewritten.find_method("fill_mask_logits")) {
      at::Tensor flat = torch::tensor({3, 14, 25}, torch::kLong);
      at::Tensor a = as_is.get_method("fill_mask_logits")({ids, mask, types, flat}).toTensor();
      CHECK(close((*fm)({ids, mask, types, flat}).toTensor(), a, 1e-5));
    }
  }
  CHECK(fused > 0);  // BERT's intermediate GELU, scripted and traced
}

TEST_CASE(rewrite_leaves_other_dtypes_and_submodule_calls_alone) {
  if (!packed_linear_enabled() || !exists("models/test/mlm-traced/model.pt")) return;
  c10::InferenceMode guard;
  torch::jit::Module m = torch::jit::load("models/test/mlm-traced/model.pt");
  m.eval();
  for (auto t : m.parameters()) t.set_data(t.to(torch::kDouble));  // not float32: nothing qualifies
  CHECK(pack_linear_layers(m).linear_layers == 0);

  // The root's calls of its submodules (bert, cls; a traced DistilBERT's head: vocab_transform,
  // activation, vocab_layer_norm, vocab_projector) are what heads map arguments from: every one kept.
  auto root_calls = [](const torch::jit::Module& m) {
    int calls = 0;
    for (const torch::jit::Node* n : m.get_method("forward").graph()->nodes())
      if (n->kind() == c10::prim::CallMethod) ++calls;
    return calls;
  };
  for (const char* name : {"mlm-traced", "distilbert-mlm-traced"}) {
    const std::string path = std::string("models/test/") + name + "/model.pt";
    CHECK(exists(path));
    if (!exists(path)) continue;
    torch::jit::Module f = torch::jit::load(path);
    f.eval();
    const int before = root_calls(f);
    CHECK(pack_linear_layers(f).linear_layers > 0);
    CHECK(before >= 2);
    CHECK(root_calls(f) == before);
  }
}

// The engine keeps the rewriting only where its first load-time probe answers as the file's graphs
// do. Packed weights spoiled after packing stand for a kernel that computes wrong: the probe sees it
// and the file's own linear layers serve.
TEST_CASE(probe_keeps_the_rewrite_only_where_it_answers_as_the_file_does) {
  if (!packed_linear_enabled()) return;
  const std::string dir = "models/test/tiny";
  if (!exists(dir + "/model.pt")) {
    std::fprintf(stderr, "  %s is missing: run scripts/make_test_models.py models/test\n", dir.c_str());
    CHECK(false);
    return;
  }
  const ModelConfig config = ModelConfig::load(dir + "/config.json");
  const auto tokenizer = Tokenizer::load(dir);
  c10::InferenceMode guard;
  Model good(dir, config, DeviceSpec{});
  const Probe probe = make_probe(good, *tokenizer, true);
  CHECK(good.rewrite_unsettled());
  const at::Tensor packed_answer = probe_forward(good, probe);
  CHECK(!good.rewrite_unsettled());
  CHECK(good.linear_kernel().find("checked against libtorch's on the load-time probe") != std::string::npos);
  CHECK(close(good.forward(probe.batch), packed_answer, 0));

  Model bad(dir, config, DeviceSpec{});
  int spoiled = 0;
  for (const torch::jit::Module& m : bad.module().modules())
    for (const auto& a : m.named_attributes(/*recurse=*/false))
      if (a.value.isCustomClass()) {
        a.value.toCustomClass<kernels::PackedLinearWeights>()->packed.mul_(1.5);
        ++spoiled;
      }
  CHECK(spoiled > 0);
  const at::Tensor served = probe_forward(bad, probe);
  CHECK(!bad.rewrite_unsettled());
  CHECK(bad.linear_kernel().rfind("libtorch linear layers (", 0) == 0);
  // The file's graphs now: libtorch's answer, which the good model's packed one reproduces.
  CHECK(close(served, packed_answer, 1e-5));
  CHECK(close(bad.forward(probe.batch), packed_answer, 1e-5));
}

int main() { return bert_test::run_all(); }
