#include "images.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>
#include <webp/encode.h>

#include "util.hpp"

namespace emulator {
namespace {

std::uint64_t request_hash(const ImageRequest& request)
{
    std::string key = std::to_string(request.seed) + '\n' + request.prompt + '\n' + std::to_string(request.width) +
                      'x' + std::to_string(request.height) + '#' + std::to_string(request.batch_index);
    return fnv1a64(key);
}

// Fills an RGB buffer with two gradients and a checker whose colours and cell size come from the hash.
std::vector<unsigned char> render_pixels(std::uint64_t hash, int width, int height, double brightness)
{
    std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    auto base_r = static_cast<int>(hash & 0xff);
    auto base_g = static_cast<int>(hash >> 8 & 0xff);
    auto base_b = static_cast<int>(hash >> 16 & 0xff);
    int cell = 8 + static_cast<int>(hash >> 24 & 0x3f);
    std::size_t at = 0;
    for (int y = 0; y < height; ++y) {
        int gy = y * 255 / std::max(1, height - 1);
        for (int x = 0; x < width; ++x) {
            int gx = x * 255 / std::max(1, width - 1);
            int checker = ((x / cell + y / cell) % 2) * 48;
            int r = (base_r + gx + checker) & 0xff;
            int g = (base_g + gy) & 0xff;
            int b = (base_b + (gx ^ gy) + checker) & 0xff;
            pixels[at++] = static_cast<unsigned char>(r * brightness);
            pixels[at++] = static_cast<unsigned char>(g * brightness);
            pixels[at++] = static_cast<unsigned char>(b * brightness);
        }
    }
    return pixels;
}

// Fills an RGB buffer with xorshift64 output seeded by the hash.
std::vector<unsigned char> noise_pixels(std::uint64_t hash, int width, int height)
{
    std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    std::uint64_t state = hash | 1;
    for (unsigned char& value : pixels) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        value = static_cast<unsigned char>(state >> 56);
    }
    return pixels;
}

void append_to_string(void* context, void* data, int size)
{
    auto* out = static_cast<std::string*>(context);
    out->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string encode_png(const std::vector<unsigned char>& pixels, int width, int height)
{
    std::string out;
    if (stbi_write_png_to_func(append_to_string, &out, width, height, 3, pixels.data(), width * 3) == 0) {
        throw std::runtime_error("PNG encoding failed");
    }
    return out;
}

std::string encode_jpeg(const std::vector<unsigned char>& pixels, int width, int height, int quality)
{
    std::string out;
    if (stbi_write_jpg_to_func(append_to_string, &out, width, height, 3, pixels.data(), quality) == 0) {
        throw std::runtime_error("JPEG encoding failed");
    }
    return out;
}

std::string encode_webp(const std::vector<unsigned char>& pixels, int width, int height)
{
    std::uint8_t* output = nullptr;
    std::size_t size = WebPEncodeRGB(pixels.data(), width, height, width * 3, 80.0f, &output);
    if (size == 0 || output == nullptr) {
        throw std::runtime_error("WebP encoding failed");
    }
    std::string out(reinterpret_cast<const char*>(output), size);
    WebPFree(output);
    return out;
}

} // namespace

EncodedImage render_image(const ImageRequest& request, ImageFormat format, bool noise)
{
    // Level 1 trades file size for encoding speed, which matters for 4096x4096 test images.
    // The level is a global of stb, so it is set once under the thread-safe static initialisation.
    static const bool level_set = [] {
        stbi_write_png_compression_level = 1;
        return true;
    }();
    (void)level_set;
    auto pixels = noise ? noise_pixels(request_hash(request), request.width, request.height)
                        : render_pixels(request_hash(request), request.width, request.height, 1.0);
    switch (format) {
    case ImageFormat::jpeg:
        return {encode_jpeg(pixels, request.width, request.height, 90), "image/jpeg", "jpg"};
    case ImageFormat::webp:
        return {encode_webp(pixels, request.width, request.height), "image/webp", "webp"};
    case ImageFormat::png:
        break;
    }
    return {encode_png(pixels, request.width, request.height), "image/png", "png"};
}

EncodedImage render_preview(const ImageRequest& request, double progress)
{
    int longest = std::max(request.width, request.height);
    int width = std::max(1, request.width * 128 / longest);
    int height = std::max(1, request.height * 128 / longest);
    double brightness = 0.25 + 0.75 * std::clamp(progress, 0.0, 1.0);
    auto pixels = render_pixels(request_hash(request), width, height, brightness);
    return {encode_jpeg(pixels, width, height, 60), "image/jpeg", "jpg"};
}

} // namespace emulator
