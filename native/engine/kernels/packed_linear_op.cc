#include "engine/kernels/packed_linear_op.h"

#include <ATen/Parallel.h>

// ATen's OpenMP at::parallel_for is inline: compiled without OpenMP it silently runs serially
// (CMakeLists.txt gives this file the flag).
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "packed_linear_op.cc must be compiled with OpenMP (-fopenmp): libtorch's at::parallel_for would run on one thread"
#endif

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace bert::kernels {

PackedLinearWeights::PackedLinearWeights(const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(weight.dim() == 2 && weight.scalar_type() == at::kFloat && weight.device().is_cpu(),
              "packed_linear: expected a float32 CPU weight [out, in]");
  n = weight.size(0);
  k = weight.size(1);
  const at::Tensor w = weight.contiguous();
  at::Tensor b;
  if (bias.defined()) {
    TORCH_CHECK(bias.dim() == 1 && bias.size(0) == n && bias.scalar_type() == at::kFloat, "packed_linear: bias must be float32 [out]");
    b = bias.contiguous();
  }
  packed = at::empty({packed_floats(n, k)}, weight.options());
  // libtorch's CPU allocator (and the engine's block cache) align to 64 bytes; the kernel's aligned
  // loads rely on it.
  TORCH_CHECK(reinterpret_cast<uintptr_t>(packed.data_ptr<float>()) % 64 == 0, "packed_linear: unaligned buffer");
  pack_weights(w.data_ptr<float>(), b.defined() ? b.data_ptr<float>() : nullptr, n, k, packed.data_ptr<float>());
}

at::Tensor packed_linear(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& w, int64_t activation) {
  return packed_linear_on(input, w, activation, preferred_isa());
}

at::Tensor packed_linear_on(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& w, int64_t activation, Isa isa) {
  TORCH_CHECK(isa_supported(isa), "packed_linear: this CPU lacks ", isa_name(isa));
  TORCH_CHECK(input.scalar_type() == at::kFloat && input.device().is_cpu(), "packed_linear: expected a float32 CPU input");
  TORCH_CHECK(input.dim() >= 1 && input.size(-1) == w->k, "packed_linear: input's last dimension is ", input.size(-1),
              ", the weights expect ", w->k);
  TORCH_CHECK(activation == 0 || activation == 1, "packed_linear: unknown activation ", activation);
  const at::Tensor x = input.contiguous();
  std::vector<int64_t> sizes = input.sizes().vec();
  sizes.back() = w->n;
  at::Tensor y = at::empty(sizes, input.options());
  const int64_t m = w->k == 0 ? 0 : x.numel() / w->k;
  if (m == 0 || w->n == 0) return y;
  const float* xp = x.data_ptr<float>();
  const float* pp = w->packed.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const int64_t n = w->n, k = w->k;
  const Activation act = static_cast<Activation>(activation);
  // Two ways to share the work among the intra-op threads, the same bits either way (each output is
  // summed in one order whoever computes it). Below two row blocks, the output panels: each thread
  // streams its own part of the weights once (at batch 1 the weights are the cost) but packs the
  // whole of x. From two row blocks on, the rows, in equal shares of whole register groups (whole row
  // blocks would leave one thread up to a block behind: 15 against 14 at 4096 rows): each thread
  // packs only its own rows, and the weights are streamed once per row block either way.
  const int64_t threads = at::get_num_threads();
  if (threads > 1 && m >= 2 * kRowBlock) {
    const int64_t groups = (m + kRowGroup - 1) / kRowGroup;
    at::parallel_for(0, groups, 1, [&](int64_t begin, int64_t end) {
      const int64_t row = begin * kRowGroup, rows = std::min(m, end * kRowGroup) - row;
      gemm(xp + row * k, k, rows, pp, n, k, act, yp + row * n, n, 0, panels(n), isa);
    });
    return y;
  }
  // A share of less than ~2 MFLOP runs on fewer threads, where waking another one costs more than it
  // saves.
  const int64_t per_panel = 2 * m * k * kPanel;
  const int64_t grain = std::max<int64_t>(1, (int64_t{2} << 20) / std::max<int64_t>(1, per_panel));
  at::parallel_for(0, panels(n), grain, [&](int64_t begin, int64_t end) { gemm(xp, k, m, pp, n, k, act, yp, n, begin, end, isa); });
  return y;
}

int parallel_threads_used(int64_t chunks) {
  std::mutex mu;
  std::set<std::thread::id> seen;
  at::parallel_for(0, chunks, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(std::this_thread::get_id());
  });
  return static_cast<int>(seen.size());
}

namespace {
TORCH_LIBRARY(bert_serve, m) {
  m.class_<PackedLinearWeights>("PackedLinearWeights");
  m.def("packed_linear(Tensor input, __torch__.torch.classes.bert_serve.PackedLinearWeights weights, int activation) -> Tensor",
        packed_linear);
}
}  // namespace

c10::Symbol packed_linear_symbol() { return c10::Symbol::fromQualString("bert_serve::packed_linear"); }

c10::TypePtr packed_linear_weights_type() { return c10::getCustomClassType<c10::intrusive_ptr<PackedLinearWeights>>(); }

}  // namespace bert::kernels
