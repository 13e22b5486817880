#pragma once
// Invariant checks for the fuzz targets. A violation prints what failed and aborts, which
// libFuzzer reports as a crash (with the input saved) and the corpus replay as a failed test.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                           \
  do {                                                                                  \
    if (!(condition)) {                                                                 \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,       \
                   #condition);                                                         \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)
