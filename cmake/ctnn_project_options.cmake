# Options for ctnn's own targets (tests, examples): warnings are errors, sanitizers on request.
# Consumers of ctnn::ctnn get none of this.
add_library(ctnn_project_options INTERFACE)
target_compile_options(ctnn_project_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror>)
if(CTNN_SANITIZE)
  target_compile_options(ctnn_project_options INTERFACE -fsanitize=${CTNN_SANITIZE} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  target_link_options(ctnn_project_options INTERFACE -fsanitize=${CTNN_SANITIZE})
endif()
# Eigen's kernels are 2-3x faster with AVX2/FMA than with the baseline SSE2 (85 vs 33 GFLOP/s for a
# large sgemm on one core here; -march=native is no faster on these Zen 4 cores and trips g++ 12
# warnings inside Eigen's AVX-512 code). Set CTNN_ARCH_FLAGS to "" for portable binaries.
set(CTNN_ARCH_FLAGS "-mavx2 -mfma" CACHE STRING "Architecture flags for ctnn's own targets")
if(CTNN_ARCH_FLAGS)
  separate_arguments(ctnn_arch_flags UNIX_COMMAND "${CTNN_ARCH_FLAGS}")
  target_compile_options(ctnn_project_options INTERFACE ${ctnn_arch_flags})
endif()
