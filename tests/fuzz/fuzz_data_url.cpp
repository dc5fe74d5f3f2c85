// media::parse_data_url and media::decode_image_data_url on any string a worker may
// put in a GenerateText2Image `images` entry.
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "media/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    try {
        const swarmpod::media::DataUrl parts = swarmpod::media::parse_data_url(url);
        // Both views must point inside the input.
        if (parts.base64.data() < url.data() || parts.base64.data() + parts.base64.size() > url.data() + url.size()) {
            std::abort();
        }
    } catch (const swarmpod::Error&) {
    }
    try {
        const swarmpod::media::DecodedImage image = swarmpod::media::decode_image_data_url(url);
        if (image.bytes.empty()) std::abort();
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
