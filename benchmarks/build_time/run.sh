#!/usr/bin/env bash
# Build-time benchmark: how long one program that uses ctnn takes to compile and link at -O2, with g++
# and clang++-14, each compile on one core (the two programs of one compiler run side by side, one per
# core). Targets (issue 13): examples/tinyvgg_step.cpp <= 10 s, resnet20.cpp (ResNet-20: Residual,
# BatchNorm2d) <= 20 s. Prints the times; fails only if a program does not build. CI runs it (.ci/run).
#   benchmarks/build_time/run.sh [compiler...]   (default: g++ clang++-14, those that exist)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
compilers=("$@")
((${#compilers[@]})) || compilers=(g++ clang++-14)
programs=("$root/examples/tinyvgg_step.cpp:10" "$root/benchmarks/build_time/resnet20.cpp:20")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The flags of ctnn's own targets (cmake/ctnn_project_options.cmake) in a Release build, at -O2.
flags=(-std=c++20 -O2 -DNDEBUG -fopenmp -mavx2 -mfma -Wall -Wextra -Wpedantic -Wshadow -Wconversion
       -Wno-sign-conversion -Werror -I"$root/include" -isystem /usr/include/eigen3)
libs=(-lz -lpng -ljpeg -lstb -pthread)
status=0
printf '%-13s %-22s %8s %8s %7s\n' compiler program wall_s cpu_s target
for cxx in "${compilers[@]}"; do
  if ! command -v "$cxx" >/dev/null; then
    printf '%-13s (not installed: skipped)\n' "$cxx"
    continue
  fi
  pids=()
  for entry in "${programs[@]}"; do
    source=${entry%:*}
    name=$(basename "$source" .cpp)
    # One compile+link per core; bash's `time`: wall, user and system seconds of the whole driver.
    { TIMEFORMAT='%R %U %S'
      time "$cxx" "${flags[@]}" "$source" -o "$work/$cxx.$name" "${libs[@]}" 2>"$work/$cxx.$name.log"
    } 2>"$work/$cxx.$name.time" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    entry=${programs[$i]}
    source=${entry%:*} target=${entry##*:}
    name=$(basename "$source" .cpp)
    if wait "${pids[$i]}"; then
      read -r wall user sys < "$work/$cxx.$name.time"
      cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
      verdict=$(awk -v w="$wall" -v t="$target" 'BEGIN { print (w <= t) ? "met" : "MISSED" }')
      printf '%-13s %-22s %8.1f %8s %5ss %s\n' "$cxx" "$name" "$wall" "$cpu" "$target" "$verdict"
    else
      printf '%-13s %-22s FAILED to build:\n' "$cxx" "$name"
      head -n 40 "$work/$cxx.$name.log"
      status=1
    fi
  done
done
echo "(wall time includes waiting for the CPU: on a busy machine it exceeds cpu_s; cpu_s is the compiler's own work)"
exit $status
