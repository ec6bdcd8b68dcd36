// A float32 matrix product with the weights packed once, at load, for the CPU's vector units:
// y[m, n] = act(x[m, :] . w[n, :] + bias[n]), as torch.nn.Linear computes (then the activation).
//
// Why: a libtorch linear layer calls the BLAS (OpenBLAS here), which copies ("packs") the whole
// weight matrix into its own blocked layout on every call. At batch 1 a BERT-base forward reads
// 340 MB of weights; packing them again per call more than doubles the memory traffic that bounds
// it. Here the packing happens once (pack_weights), and each call streams the packed panels once.
//
// Layout: the output columns in panels of kPanel (16) columns; for each block of 256 k and each
// panel p, the 16 weights w[16p .. 16p+15, k] of every k in the block contiguously (zero past n):
// the k-blocks one after another, the panels one after another within a k-block, then the bias
// padded to a whole number of panels. A 6 x 16 block of outputs is 12 AVX2 registers, fed by one
// broadcast of x and two loads of the panel per k (6 rows x 16 columns, the usual AVX2 shape).
// Where the CPU has AVX-512, a 12 x 32 block (two row groups, two panels) is 24 of its 32 registers,
// fed by two loads of 16 and 12 broadcasts per k: twice the FMA width of AVX2 on the same layout.
//
// Threading: gemm() computes the panels [panel_begin, panel_end) of the m rows it is given on the
// calling thread; the caller splits panels or rows across threads (packed_linear_op.cc). Each
// output is summed in the same order whichever thread computes it and whichever rows share its
// call, so every split gives the same bits, and so does either instruction set: the AVX-512
// kernel performs, for each output, the same float operations in the same order as the AVX2 one
// (the same k order, the same k-block partial sums added to the output, the same bias and GELU
// epilogue). Packed buffers are read only.
#pragma once
#include <cstddef>
#include <cstdint>

namespace bert::kernels {

constexpr int64_t kPanel = 16;
// Rows of x multiplied per register block, and per cache block (the x block one call packs at a
// time). A thread that computes whole row blocks of its own packs only its own rows.
constexpr int64_t kRowGroup = 6;
constexpr int64_t kRowBlock = 144;

// Where the slice of panel p for the k-block starting at pc begins, kc values of k per panel column
// in that k-block (every k-block before the last is whole): the k-blocks one after another, and
// within a k-block the panels one after another, so a thread's share of a k-block is one
// contiguous stream (the hardware prefetcher follows it across panels). Both the float32 and the
// bf16 layouts (kc rounded up to even there) are laid out so.
inline int64_t slice_offset(int64_t pc, int64_t p, int64_t kc, int64_t np) { return pc * np * kPanel + p * kPanel * kc; }

enum class Activation : int64_t {
  kNone = 0,
  kGelu = 1,  // exact (erf) GELU, torch.nn.GELU() and Hugging Face's "gelu"
};

// True when this CPU has the instructions the kernel needs (AVX2 and FMA).
bool packed_gemm_supported();

enum class Isa : int {
  kAvx2 = 0,
  kAvx512 = 1,  // AVX-512F
};
bool isa_supported(Isa isa);
// The widest instruction set this CPU runs, unless BERT_SERVE_PACKED_ISA=avx2 (read once per
// process, for comparisons: the bits are the same either way).
Isa preferred_isa();
const char* isa_name(Isa isa);

int64_t panels(int64_t n);
// Floats in a packed buffer for an n x k weight: the panels, then the padded bias.
int64_t packed_floats(int64_t n, int64_t k);
// Packs row-major w [n, k] and bias [n] (nullptr: zeros) into `out` (packed_floats(n, k) floats,
// 64-byte aligned).
void pack_weights(const float* w, const float* bias, int64_t n, int64_t k, float* out);

// The calling thread's scratch buffer for the packed block of x (kThreadBlockBytes, 64-byte
// aligned, kept for the thread's life), shared by the float32 and the bf16 kernels.
constexpr int64_t kThreadBlockBytes = kRowBlock * 256 * 4;
void* thread_block();

// Computes the columns of panels [panel_begin, panel_end) of y = act(x w^T + bias).
// x: m rows of k floats, row stride lda; y: m rows, row stride ldy, n columns.
// isa must be supported (isa_supported).
void gemm(const float* x, int64_t lda, int64_t m, const float* packed, int64_t n, int64_t k, Activation act, float* y, int64_t ldy,
          int64_t panel_begin, int64_t panel_end, Isa isa);

}  // namespace bert::kernels
