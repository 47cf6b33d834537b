// Linked into every ctnn target built with CTNN_SANITIZE (tests, examples): the sanitizer options CI
// uses, so a sanitized binary run by hand behaves as it does under ctest. ASAN_OPTIONS / UBSAN_OPTIONS
// in the environment are parsed after these and override them flag by flag.
// UBSan's checks stay recoverable at compile time (a suppressed report must not abort), and
// halt_on_error=1 makes every report that is not suppressed fatal.
extern "C" {
const char* __asan_default_options();
const char* __ubsan_default_options();

const char* __asan_default_options() { return "detect_leaks=1:abort_on_error=1"; }

const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1"
#ifdef CTNN_UBSAN_SUPPRESSIONS
         ":suppressions=" CTNN_UBSAN_SUPPRESSIONS
#endif
      ;
}
}
