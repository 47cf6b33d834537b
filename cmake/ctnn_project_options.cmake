# Options for ctnn's own targets (tests, examples): warnings are errors, sanitizers on request.
# Consumers of ctnn::ctnn get none of this.
add_library(ctnn_project_options INTERFACE)
target_compile_options(ctnn_project_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror>)
# CTNN_SANITIZE=address,undefined (the clang-asan-ubsan preset): every target linking ctnn_project_options is
# instrumented and gets cmake/ctnn_sanitizer_defaults.cpp, which sets the runtime options CI uses
# (leak detection, abort on the first report, stack traces, and tests/sanitizers/ubsan.supp when that
# file exists). UBSan stays recoverable at compile time so that suppressions work; halt_on_error=1 makes
# each unsuppressed report fatal at run time.
if(CTNN_SANITIZE)
  target_compile_options(ctnn_project_options INTERFACE -fsanitize=${CTNN_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(ctnn_project_options INTERFACE -fsanitize=${CTNN_SANITIZE})
  target_sources(ctnn_project_options INTERFACE ${CMAKE_CURRENT_LIST_DIR}/ctnn_sanitizer_defaults.cpp)
  set(ctnn_ubsan_suppressions ${PROJECT_SOURCE_DIR}/tests/sanitizers/ubsan.supp)
  if(EXISTS ${ctnn_ubsan_suppressions})
    message(STATUS "ctnn: UBSan suppressions from ${ctnn_ubsan_suppressions}")
    target_compile_definitions(ctnn_project_options INTERFACE CTNN_UBSAN_SUPPRESSIONS="${ctnn_ubsan_suppressions}")
  endif()
endif()
# The instruction set comes with ctnn::core (CTNN_ARCH in the top-level CMakeLists.txt: -mavx2 -mfma by
# default, 2-3x the baseline SSE2 for Eigen's kernels: 85 vs 33 GFLOP/s for a large sgemm on one core
# here). CTNN_ARCH_FLAGS: further flags for ctnn's own targets only.
set(CTNN_ARCH_FLAGS "" CACHE STRING "Extra architecture flags for ctnn's own targets (CTNN_ARCH sets the instruction set)")
if(CTNN_ARCH_FLAGS)
  separate_arguments(ctnn_arch_flags UNIX_COMMAND "${CTNN_ARCH_FLAGS}")
  target_compile_options(ctnn_project_options INTERFACE ${ctnn_arch_flags})
endif()
