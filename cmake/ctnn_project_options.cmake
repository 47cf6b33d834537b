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
