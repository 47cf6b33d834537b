#pragma once
// JPEG decoding through libjpeg-turbo (Debian's libjpeg62-turbo-dev, continuously fuzzed upstream;
// link with -ljpeg, or JPEG::JPEG from CMake, which ctnn::ctnn does).
//   decode_jpeg(bytes, limits, name) -> DecodedImage: grey JPEGs give 1 channel, colour ones (YCbCr or
//   RGB) 3, decoded as PIL decodes them (the same library, islow DCT, fancy upsampling); baseline and
//   progressive alike. CMYK and YCCK (Adobe) JPEGs are converted to RGB as PIL's convert("RGB") does.
// The header is read first: an image over DecodeLimits (or a progressive one of more than
// max_jpeg_scans scans) is refused before the decoder allocates its buffers.
// Corrupt data is an error, not a warning: a truncated file ("Premature end of JPEG file"), a bad
// Huffman code, a premature end of a data segment... Only three harmless warnings are let through:
// extraneous bytes before a marker, an unknown JFIF revision, an unknown Adobe transform code.
// libjpeg reports errors through error_exit, which must not return: ours longjmps out of the two
// small functions that call libjpeg (jpeg_header_step, jpeg_pixels_step), whose frames hold no C++
// object with a destructor. Nothing is printed (output_message is ours too); every error is a
// ctnn::error "<name>: JPEG: <libjpeg's words>".
// jpeglib.h needs FILE and size_t declared before it.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
#include <jerror.h>

#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "image.hpp"

namespace ctnn::data {

namespace detail {

// What libjpeg's callbacks and the two steps share. Trivially destructible on purpose: see above.
struct jpeg_state {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
  int max_scans;
};

inline jpeg_state& jpeg_owner(j_common_ptr c) { return *static_cast<jpeg_state*>(c->client_data); }

[[noreturn]] inline void jpeg_on_error(j_common_ptr c) {
  jpeg_state& st = jpeg_owner(c);
  if (st.message[0] == '\0') (*c->err->format_message)(c, st.message);
  std::longjmp(st.jump, 1);
}
// Warnings (level -1) about corrupt data end the decoding; trace messages (level >= 0) are dropped.
inline void jpeg_on_message(j_common_ptr c, int level) {
  if (level >= 0) return;
  const int code = c->err->msg_code;
  if (code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM) return;
  jpeg_on_error(c);
}
inline void jpeg_on_output(j_common_ptr) {}
inline void jpeg_on_progress(j_common_ptr c) {
  if (!c->is_decompressor) return;
  jpeg_state& st = jpeg_owner(c);
  if (reinterpret_cast<j_decompress_ptr>(c)->input_scan_number > st.max_scans) {
    std::snprintf(st.message, sizeof st.message, "more than %d scans (DecodeLimits::max_jpeg_scans)", st.max_scans);
    std::longjmp(st.jump, 1);
  }
}

// Step 1: the markers up to the first scan (SOF gives the dimensions). False (with st.message) on an error.
inline bool jpeg_header_step(jpeg_state& st, const std::uint8_t* data, std::size_t size) {
  if (setjmp(st.jump)) return false;
  jpeg_create_decompress(&st.cinfo);
  st.cinfo.progress = &st.progress;
  jpeg_mem_src(&st.cinfo, data, static_cast<unsigned long>(size));
  (void)jpeg_read_header(&st.cinfo, TRUE);
  return true;
}

// Step 2: every scanline, in `space`, into out (rows of row_bytes bytes).
inline bool jpeg_pixels_step(jpeg_state& st, J_COLOR_SPACE space, std::uint8_t* out, std::size_t row_bytes) {
  if (setjmp(st.jump)) return false;
  st.cinfo.out_color_space = space;
  (void)jpeg_start_decompress(&st.cinfo);
  if (st.cinfo.output_width != st.cinfo.image_width || st.cinfo.output_height != st.cinfo.image_height ||
      static_cast<std::size_t>(st.cinfo.output_width) * static_cast<std::size_t>(st.cinfo.output_components) !=
          row_bytes) {
    std::snprintf(st.message, sizeof st.message, "unexpected output layout");
    std::longjmp(st.jump, 1);
  }
  while (st.cinfo.output_scanline < st.cinfo.output_height) {
    JSAMPROW row = out + static_cast<std::size_t>(st.cinfo.output_scanline) * row_bytes;
    if (jpeg_read_scanlines(&st.cinfo, &row, 1) != 1) {
      std::snprintf(st.message, sizeof st.message, "the decoder returned no scanline");
      std::longjmp(st.jump, 1);
    }
  }
  return true;
}

// Adobe CMYK (stored inverted, as Photoshop writes it, which is what PIL assumes) to RGB, as PIL's
// convert("RGB"): R = 255 - k' - c' (1 - k'/255) rounded, with c' = 255 - stored C, k' = 255 - stored K.
inline std::uint8_t cmyk_channel(std::uint8_t stored_c, std::uint8_t stored_k) {
  const unsigned c = 255u - stored_c, nk = stored_k;
  const unsigned t = c * nk + 128u;
  const unsigned m = ((t >> 8) + t) >> 8;
  return static_cast<std::uint8_t>(nk - m);
}

}  // namespace detail

// Decodes a JPEG held in memory; `name` (the file) starts every error message.
inline DecodedImage decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {},
                                std::string_view name = "image") {
  struct reader {
    detail::jpeg_state st{};
    reader() = default;
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;
    ~reader() { jpeg_destroy_decompress(&st.cinfo); }  // safe on a never-created (zeroed) struct
  } r;
  detail::jpeg_state& st = r.st;
  st.cinfo.err = jpeg_std_error(&st.err);
  st.err.error_exit = detail::jpeg_on_error;
  st.err.emit_message = detail::jpeg_on_message;
  st.err.output_message = detail::jpeg_on_output;
  st.cinfo.client_data = &st;
  st.progress.progress_monitor = detail::jpeg_on_progress;
  st.max_scans = static_cast<int>(std::min<std::uint32_t>(limits.max_jpeg_scans, 1u << 30));
  if (bytes.empty()) detail::image_error(name, "JPEG", "empty input");
  if (!detail::jpeg_header_step(st, bytes.data(), bytes.size())) detail::image_error(name, "JPEG", st.message);
  detail::check_image_size(name, "JPEG", st.cinfo.image_width, st.cinfo.image_height, limits);

  J_COLOR_SPACE space = JCS_UNKNOWN;
  std::size_t components = 0;
  switch (st.cinfo.num_components) {
    case 1: space = JCS_GRAYSCALE, components = 1; break;
    case 3: space = JCS_RGB, components = 3; break;
    case 4:
      if (st.cinfo.jpeg_color_space != JCS_CMYK && st.cinfo.jpeg_color_space != JCS_YCCK)
        detail::image_error(name, "JPEG", "4 components that are neither CMYK nor YCCK");
      space = JCS_CMYK, components = 4;
      break;
    default:
      detail::image_error(name, "JPEG", cat(st.cinfo.num_components, " components: not grey (1), colour (3) or CMYK (4)"));
  }
  DecodedImage image;
  image.width = st.cinfo.image_width;
  image.height = st.cinfo.image_height;
  image.channels = components;
  image.pixels.resize(image.width * image.height * components);
  if (!detail::jpeg_pixels_step(st, space, image.pixels.data(), image.width * components))
    detail::image_error(name, "JPEG", st.message);
  if (components == 4) {
    const std::size_t n = image.width * image.height;
    std::uint8_t* p = image.pixels.data();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t k = p[4 * i + 3];
      for (std::size_t c = 0; c < 3; ++c) p[3 * i + c] = detail::cmyk_channel(p[4 * i + c], k);
    }
    image.pixels.resize(3 * n);
    image.channels = 3;
  }
  return image;
}

}  // namespace ctnn::data
