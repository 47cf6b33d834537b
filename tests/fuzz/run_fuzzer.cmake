# cmake -DFUZZER=exe -DNAME=name -DCORPUS=dir [-DREGRESSIONS=dir] -DWORK_DIR=dir -DSECONDS=30 -P run_fuzzer.cmake
# Runs one libFuzzer target for SECONDS on a copy of its committed seed corpus (and its regression
# inputs), so the committed files are never modified. New inputs and crash artifacts go to WORK_DIR,
# in the build tree. The fuzzer's own output goes to WORK_DIR/fuzz.log; its tail is printed (all of a
# crash report, which CTest's output limit would otherwise cut).
foreach(var FUZZER NAME CORPUS WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR}/corpus ${WORK_DIR}/regressions ${WORK_DIR}/artifacts)
file(MAKE_DIRECTORY ${WORK_DIR}/corpus ${WORK_DIR}/artifacts)
file(GLOB seeds LIST_DIRECTORIES false ${CORPUS}/*)
if(NOT seeds)
  message(FATAL_ERROR "the seed corpus ${CORPUS} is empty")
endif()
file(COPY ${seeds} DESTINATION ${WORK_DIR}/corpus)
set(dirs ${WORK_DIR}/corpus)
if(REGRESSIONS AND IS_DIRECTORY ${REGRESSIONS})
  file(GLOB regressions LIST_DIRECTORIES false ${REGRESSIONS}/*)
  list(FILTER regressions EXCLUDE REGEX "\\.md$")
  if(regressions)
    file(MAKE_DIRECTORY ${WORK_DIR}/regressions)
    file(COPY ${regressions} DESTINATION ${WORK_DIR}/regressions)
    list(APPEND dirs ${WORK_DIR}/regressions)
  endif()
endif()

# -rss_limit_mb / -malloc_limit_mb: an input may not make a reader allocate more than it could hold
# (a huge count in a header is an error, not an allocation); -timeout: no input may hang a reader.
set(command ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10
            -print_final_stats=1 -artifact_prefix=${WORK_DIR}/artifacts/ ${dirs})
list(JOIN command " " command_line)
message(STATUS "${command_line}")
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_FILE ${WORK_DIR}/fuzz.log ERROR_FILE ${WORK_DIR}/fuzz.log)
# The tail by bytes: libFuzzer's lines hold unbalanced '[', which CMake's list splitting mishandles.
if(rc EQUAL 0)
  set(keep 1500)
else()
  set(keep 60000)
endif()
file(SIZE ${WORK_DIR}/fuzz.log size)
if(size GREATER keep)
  math(EXPR offset "${size} - ${keep}")
  file(READ ${WORK_DIR}/fuzz.log tail OFFSET ${offset})
  string(REGEX REPLACE "^[^\n]*\n" "" tail "${tail}")
  message("... (${WORK_DIR}/fuzz.log holds the whole output)\n${tail}")
else()
  file(READ ${WORK_DIR}/fuzz.log tail)
  message("${tail}")
endif()
if(NOT rc EQUAL 0)
  file(GLOB artifacts ${WORK_DIR}/artifacts/*)
  message(FATAL_ERROR "fuzz_${NAME} failed (exit ${rc}). The input that broke it: ${artifacts}\n"
                      "Reproduce: fuzz_replay.${NAME} <file> (any compiler) or fuzz_${NAME} <file>; once fixed, "
                      "commit the file to tests/fuzz/regressions/${NAME}/ so every configuration replays it.")
endif()
