#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), so that a model
// trained here loads in PyTorch and the other way round:
//   ctnn::save(model, "tinyvgg.safetensors");     // model.state_dict(): F32 (eigen) or F64 (reference),
//                                                 // int64 buffers as I64
//   ctnn::load(model, "tinyvgg.safetensors");     // F16, BF16, F32 and F64 convert to the model's scalar
//   auto keys = ctnn::load(model, path, {.strict = false});   // load_state_dict's options (state_dict.hpp)
//
// The format: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"format": "pt"},
//    "conv_block_1.0.weight": {"dtype": "F32", "shape": [10, 1, 3, 3], "data_offsets": [0, 360]}, ...}
// (padded with spaces to a multiple of 8 bytes), then the data section: every tensor contiguous,
// row-major, little-endian, at its data_offsets (relative to the data section; no gaps, no overlaps).
//
// The parts, one concept each:
//   safetensors/format.hpp   header types, Limits, dtypes and element decoding (F16/BF16 -> float)
//   safetensors/json.hpp     the header's JSON (dependency-free, exactly the format's form)
//   safetensors/header.hpp   validation; read_header / parse_header
//   safetensors/reader.hpp   load_state_dict_file / _bytes, load, load_bytes
//   safetensors/writer.hpp   save_state_dict, save (atomic, through io/atomic_file.hpp)
//
// Every problem (a missing or truncated file, bad JSON, offsets out of range or overlapping, an
// unknown or unsupported dtype, a checkpoint of another architecture) throws ctnn::error with the file's
// path, and loading changes nothing in the model unless the whole file is good.
//
// Limits (safetensors::Limits, checked before anything is allocated for them): a header of at most
// 100 000 000 bytes (the limit of the reference implementation) and at most 1 000 000 tensors. The
// JSON has a fixed depth (the top object, a tensor's or __metadata__'s object, a shape array): nothing
// nests deeper, so no input can recurse. Strings must be valid UTF-8 (no overlong forms, no encoded
// surrogates, nothing above U+10FFFF) and \u escapes must pair surrogates. Duplicate names are found
// by sorting (O(N log N)). Only regular files are read (io/regular_file.hpp): a FIFO, a device such
// as /dev/zero or a directory is an error, not a hang or an endless read.
//
// Writes are atomic (io/atomic_file.hpp, shared with the PNG writer): the bytes go to
// "<name>.tmp-<16 hex digits>" beside the target, are fsync'ed and renamed over it; a symbolic link is
// written through (the link stays, its target is replaced), the target's mode is kept, stale
// temporaries of killed saves are removed by the next save, and on any failure (a full disk
// included) the temporary file is removed and an existing <path> is left exactly as it was.
#include "../nn/sequential.hpp"
#include "safetensors/format.hpp"
#include "safetensors/header.hpp"
#include "safetensors/json.hpp"
#include "safetensors/reader.hpp"
#include "safetensors/writer.hpp"
