#pragma once
// Portability macros shared by every backend.
#if defined(__CUDACC__)
#define CTNN_HD __host__ __device__
#else
#define CTNN_HD
#endif
