#include "engine/kernels/packed_linear_op.h"

#include "engine/kernels/packed_gemm_bf16.h"

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

c10::intrusive_ptr<PackedLinearWeights> PackedLinearWeights::bf16(const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(bf16_gemm_supported(), "packed_linear: this CPU lacks AVX-512 BF16");
  TORCH_CHECK(weight.dim() == 2 && weight.is_floating_point() && weight.device().is_cpu(),
              "packed_linear: expected a CPU weight [out, in]");
  auto out = c10::make_intrusive<PackedLinearWeights>();
  out->is_bf16 = true;
  out->n = weight.size(0);
  out->k = weight.size(1);
  const at::Tensor w = weight.to(at::kBFloat16).contiguous();
  out->packed = at::empty({packed_bf16_values(out->n, out->k)}, w.options());
  out->bias = at::zeros({panels(out->n) * kPanel}, w.options().dtype(at::kFloat));
  if (bias.defined()) {
    TORCH_CHECK(bias.dim() == 1 && bias.size(0) == out->n && bias.is_floating_point(), "packed_linear: bias must be [out]");
    out->bias.narrow(0, 0, out->n).copy_(bias);
  }
  TORCH_CHECK(reinterpret_cast<uintptr_t>(out->packed.data_ptr()) % 64 == 0 && reinterpret_cast<uintptr_t>(out->bias.data_ptr()) % 64 == 0,
              "packed_linear: unaligned buffer");
  pack_weights_bf16(reinterpret_cast<const uint16_t*>(w.data_ptr<at::BFloat16>()), out->n, out->k,
                    reinterpret_cast<uint16_t*>(out->packed.data_ptr<at::BFloat16>()));
  return out;
}

at::Tensor packed_linear(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& w, int64_t activation) {
  return packed_linear_on(input, w, activation, preferred_isa());
}

at::Tensor packed_linear_on(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& w, int64_t activation, Isa isa) {
  TORCH_CHECK(w->is_bf16 || isa_supported(isa), "packed_linear: this CPU lacks ", isa_name(isa));
  TORCH_CHECK((input.scalar_type() == at::kFloat || input.scalar_type() == at::kBFloat16) && input.device().is_cpu(),
              "packed_linear: expected a float32 or bf16 CPU input");
  TORCH_CHECK(input.dim() >= 1 && input.size(-1) == w->k, "packed_linear: input's last dimension is ", input.size(-1),
              ", the weights expect ", w->k);
  TORCH_CHECK(activation == 0 || activation == 1, "packed_linear: unknown activation ", activation);
  const at::Tensor x = input.to(at::kFloat).contiguous();
  std::vector<int64_t> sizes = input.sizes().vec();
  sizes.back() = w->n;
  at::Tensor y = at::empty(sizes, x.options());
  const int64_t m = w->k == 0 ? 0 : x.numel() / w->k;
  if (m == 0 || w->n == 0) return y;
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const int64_t n = w->n, k = w->k;
  const Activation act = static_cast<Activation>(activation);
  // One kernel call: the columns of panels [begin, end) of `rows` rows from `row` on.
  const auto gemm_part = [&, bf16 = w->is_bf16](int64_t row, int64_t rows, int64_t begin, int64_t end) {
    if (bf16)
      gemm_bf16(xp + row * k, k, rows, reinterpret_cast<const uint16_t*>(w->packed.data_ptr<at::BFloat16>()), w->bias.data_ptr<float>(), n,
                k, act, yp + row * n, n, begin, end);
    else
      gemm(xp + row * k, k, rows, w->packed.data_ptr<float>(), n, k, act, yp + row * n, n, begin, end, isa);
  };
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
      gemm_part(row, rows, 0, panels(n));
    });
    return w->is_bf16 ? y.to(at::kBFloat16) : y;
  }
  // A share of less than ~2 MFLOP runs on fewer threads, where waking another one costs more than it
  // saves.
  const int64_t per_panel = 2 * m * k * kPanel;
  const int64_t grain = std::max<int64_t>(1, (int64_t{2} << 20) / std::max<int64_t>(1, per_panel));
  at::parallel_for(0, panels(n), grain, [&](int64_t begin, int64_t end) { gemm_part(0, m, begin, end); });
  return w->is_bf16 ? y.to(at::kBFloat16) : y;
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
