// media::validate_image on any bytes. The first byte picks the mime type the worker
// claims, so every format checker sees every input.
#include <cstdlib>

#include "core/error.hpp"
#include "media/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const char* const kMimes[] = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp",
                                         "IMAGE/PNG", "image/x-unknown"};
    if (size < 1) return 0;
    const char* mime = kMimes[data[0] % (sizeof kMimes / sizeof kMimes[0])];
    try {
        const swarmpod::media::ImageInfo info = swarmpod::media::validate_image(data + 1, size - 1, mime);
        if (info.width < 0 || info.height < 0 || info.channels < 0) std::abort();
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
