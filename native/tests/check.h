// A minimal test harness: CHECK records a failure and continues; main() returns non-zero on any
// failure so ctest reports it. Kept tiny on purpose: no test framework package is needed.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace bert_test {
struct Case {
  const char* name;
  std::function<void()> fn;
};
template <class T>
std::string show(const T& v) {
  if constexpr (std::is_convertible_v<T, std::string>)
    return "\"" + std::string(v) + "\"";
  else if constexpr (std::is_enum_v<T>)
    return std::to_string(static_cast<long long>(v));
  else
    return std::to_string(v);
}
inline std::vector<Case>& cases() {
  static std::vector<Case> c;
  return c;
}
inline int& failures() {
  static int f = 0;
  return f;
}
struct Register {
  Register(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); }
};
inline int run_all() {
  int passed = 0, failed = 0;
  for (auto& c : cases()) {
    int before = failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "  %s: unexpected exception: %s\n", c.name, e.what());
      failures()++;
    }
    if (failures() == before) {
      passed++;
      std::printf("ok - %s\n", c.name);
    } else {
      failed++;
      std::printf("not ok - %s\n", c.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
}  // namespace bert_test

// glog (pulled in by libtorch) defines CHECK/CHECK_EQ too; tests include engine headers first and
// these definitions win.
#undef CHECK
#undef CHECK_EQ
#define TEST_CASE(name)                               \
  static void name();                                 \
  static bert_test::Register reg_##name(#name, name); \
  static void name()
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      bert_test::failures()++;                                                        \
    }                                                                                 \
  } while (0)
#define CHECK_EQ(a, b)                                                                                                              \
  do {                                                                                                                              \
    auto _a = (a);                                                                                                                  \
    auto _b = (b);                                                                                                                  \
    if (!(_a == _b)) {                                                                                                              \
      std::fprintf(stderr, "  %s:%d: CHECK_EQ(%s, %s) failed: %s vs %s\n", __FILE__, __LINE__, #a, #b, bert_test::show(_a).c_str(), \
                   bert_test::show(_b).c_str());                                                                                    \
      bert_test::failures()++;                                                                                                      \
    }                                                                                                                               \
  } while (0)
#define TEST_MAIN() \
  int main() { return bert_test::run_all(); }
