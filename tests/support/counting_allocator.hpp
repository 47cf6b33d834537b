#pragma once
// Counts every operator new of the test program while `count_allocations` is set, so a test can prove
// that a training step allocates nothing. Include it in exactly one file of a test executable (it
// replaces the global operator new and delete).
//
// Sanitizers bring their own operator new, so under them counting is off: CTNN_TEST_COUNT_NEW is 0
// and the tests say so instead of counting (the plain build counts).
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CTNN_TEST_COUNT_NEW 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CTNN_TEST_COUNT_NEW 0
#endif
#endif
#ifndef CTNN_TEST_COUNT_NEW
#define CTNN_TEST_COUNT_NEW 1
#endif

namespace ctnn_test {
inline std::atomic<bool> count_allocations{false};
inline std::atomic<std::size_t> allocations{0};
}  // namespace ctnn_test

#if CTNN_TEST_COUNT_NEW
namespace {
void* counted_alloc(std::size_t n) {
  if (ctnn_test::count_allocations.load(std::memory_order_relaxed)) ctnn_test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t align) {
  if (ctnn_test::count_allocations.load(std::memory_order_relaxed)) ctnn_test::allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  const std::size_t rounded = (n + a - 1) / a * a;
  if (void* p = std::aligned_alloc(a, rounded ? rounded : a)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif
