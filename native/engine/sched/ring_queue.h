// A FIFO on one growable circular buffer, for the scheduler's request queue.
//
// Why not std::deque: libstdc++'s deque allocates and frees a 512-byte block every few dozen
// push_back/pop_front calls, i.e. allocation in the enqueue/dequeue hot path. Here the buffer grows by
// doubling up to the peak queue depth and is then reused: steady-state enqueue/dequeue never allocates.
//
// T is a nullable handle (std::shared_ptr): a moved-from element is empty, which is what
// erase_empty_in_prefix() removes. Threading: none (the owner locks).
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

namespace bert {

template <class T>
class RingQueue {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return buf_.size(); }

  // The i-th oldest element (0 = front).
  T& operator[](size_t i) { return buf_[(head_ + i) & mask_]; }
  const T& operator[](size_t i) const { return buf_[(head_ + i) & mask_]; }

  void push_back(T value) {
    if (size_ == buf_.size()) grow();
    buf_[(head_ + size_) & mask_] = std::move(value);
    ++size_;
  }

  void pop_front() {
    buf_[head_] = T();
    head_ = (head_ + 1) & mask_;
    --size_;
  }

  // Removes the empty (moved-from) elements among the first `prefix`, keeping the relative order of
  // every other element. O(prefix), no allocation: kept elements slide towards the back of the prefix,
  // then the freed front slots are popped.
  void erase_empty_in_prefix(size_t prefix) {
    size_t write = prefix;
    for (size_t i = prefix; i-- > 0;) {
      if (!(*this)[i]) continue;
      if (--write != i) (*this)[write] = std::move((*this)[i]);
    }
    for (size_t k = 0; k < write; ++k) pop_front();
  }

  // Moves every element, oldest first, to the end of `out`; the queue is left empty.
  void drain_into(std::vector<T>& out) {
    out.reserve(out.size() + size_);
    while (size_ > 0) {
      out.push_back(std::move(buf_[head_]));
      pop_front();
    }
  }

 private:
  void grow() {
    const size_t cap = buf_.empty() ? 64 : buf_.size() * 2;
    std::vector<T> next(cap);
    for (size_t i = 0; i < size_; ++i) next[i] = std::move((*this)[i]);
    buf_.swap(next);
    head_ = 0;
    mask_ = cap - 1;
  }

  std::vector<T> buf_;  // capacity is 0 or a power of two
  size_t head_ = 0;
  size_t size_ = 0;
  size_t mask_ = 0;
};

}  // namespace bert
