// Deterministic test images: the same request always gives the same bytes.
#pragma once

#include <cstdint>
#include <string>

#include "config.hpp"

namespace emulator {

struct ImageRequest {
    std::int64_t seed = 0;
    std::string prompt;
    int width = 512;
    int height = 512;
    int batch_index = 0;
};

struct EncodedImage {
    std::string bytes;
    std::string mime;
    std::string extension;
};

// Renders a width x height pattern derived from a hash of the whole request and encodes it.
// With `noise`, the pixels are pseudo-random numbers seeded by that hash instead, which no
// encoder can compress: a PNG is then about 3 bytes per pixel, for memory benchmarks.
// Throws std::runtime_error if the encoder fails.
EncodedImage render_image(const ImageRequest& request, ImageFormat format, bool noise = false);

// Renders a small JPEG preview of the same pattern, dimmed by `progress` (0..1) as a denoising stand-in.
EncodedImage render_preview(const ImageRequest& request, double progress);

} // namespace emulator
