// Throughput of media::decode_image_data_url (data-URL parsing, base64 decoding and
// image validation) on 4096 x 4096 images, the largest size the emulator makes. Bytes
// processed are the characters of the data URL.
//
// Two kinds of pixels, each encoded as PNG, JPEG and WebP before the timing starts:
// - pattern: gradients and a checker like the emulator's images, which compress to a
//   small file;
// - noise: uniformly random RGB, which barely compresses, so the data URL is as large
//   as a 4096 x 4096 RGB image gets (about 64 MiB as a PNG data URL).
#include <benchmark/benchmark.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>
#include <webp/encode.h>

#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "media/image.hpp"

namespace {

using swarmpod::media::base64_encode;
using swarmpod::media::decode_image_data_url;
using swarmpod::media::DecodedImage;

constexpr int kSide = 4096;

enum class Pixels { pattern, noise };
enum class Format { png, jpeg, webp };

std::vector<unsigned char> render(Pixels kind) {
    std::vector<unsigned char> rgb(static_cast<std::size_t>(kSide) * kSide * 3);
    if (kind == Pixels::noise) {
        std::mt19937_64 random(42);
        for (std::size_t i = 0; i + 8 <= rgb.size(); i += 8) {
            const std::uint64_t value = random();
            for (int byte = 0; byte < 8; ++byte) rgb[i + byte] = static_cast<unsigned char>(value >> (8 * byte));
        }
        return rgb;
    }
    std::size_t at = 0;
    for (int y = 0; y < kSide; ++y) {
        for (int x = 0; x < kSide; ++x) {
            const int checker = ((x / 40 + y / 40) % 2) * 48;
            rgb[at++] = static_cast<unsigned char>((x * 255 / (kSide - 1) + checker) & 0xff);
            rgb[at++] = static_cast<unsigned char>((y * 255 / (kSide - 1)) & 0xff);
            rgb[at++] = static_cast<unsigned char>(((x ^ y) + checker) & 0xff);
        }
    }
    return rgb;
}

void append(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string encode(const std::vector<unsigned char>& rgb, Format format) {
    std::string out;
    switch (format) {
        case Format::png:
            stbi_write_png_compression_level = 1;
            if (stbi_write_png_to_func(append, &out, kSide, kSide, 3, rgb.data(), kSide * 3) == 0) {
                throw std::runtime_error("PNG encoding failed");
            }
            return out;
        case Format::jpeg:
            if (stbi_write_jpg_to_func(append, &out, kSide, kSide, 3, rgb.data(), 90) == 0) {
                throw std::runtime_error("JPEG encoding failed");
            }
            return out;
        case Format::webp: {
            std::uint8_t* encoded = nullptr;
            const std::size_t size = WebPEncodeRGB(rgb.data(), kSide, kSide, kSide * 3, 80.0f, &encoded);
            if (size == 0 || encoded == nullptr) throw std::runtime_error("WebP encoding failed");
            out.assign(reinterpret_cast<const char*>(encoded), size);
            WebPFree(encoded);
            return out;
        }
    }
    return out;
}

const char* mime_of(Format format) {
    switch (format) {
        case Format::png:
            return "image/png";
        case Format::jpeg:
            return "image/jpeg";
        case Format::webp:
            return "image/webp";
    }
    return "";
}

// Encodes each image once per process, on first use, outside any timing loop.
const std::string& data_url(Pixels kind, Format format) {
    static std::map<std::pair<Pixels, Format>, std::string> urls;
    auto found = urls.find({kind, format});
    if (found != urls.end()) return found->second;
    const std::string encoded = encode(render(kind), format);
    std::string url = std::string("data:") + mime_of(format) + ";base64," +
                      base64_encode(reinterpret_cast<const std::uint8_t*>(encoded.data()), encoded.size());
    return urls.emplace(std::make_pair(kind, format), std::move(url)).first->second;
}

void BM_DecodeDataUrl(benchmark::State& state, Pixels kind, Format format) {
    const std::string& url = data_url(kind, format);
    for (auto _ : state) {
        DecodedImage image = decode_image_data_url(url);
        if (image.info.width != kSide || image.info.height != kSide) {
            state.SkipWithError("the decoded image has the wrong size");
            break;
        }
        benchmark::DoNotOptimize(image.bytes.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(url.size()));
    state.counters["data_url_MiB"] = static_cast<double>(url.size()) / (1024.0 * 1024.0);
}

BENCHMARK_CAPTURE(BM_DecodeDataUrl, png_pattern, Pixels::pattern, Format::png)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeDataUrl, jpeg_pattern, Pixels::pattern, Format::jpeg)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeDataUrl, webp_pattern, Pixels::pattern, Format::webp)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeDataUrl, png_noise, Pixels::noise, Format::png)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeDataUrl, jpeg_noise, Pixels::noise, Format::jpeg)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeDataUrl, webp_noise, Pixels::noise, Format::webp)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
