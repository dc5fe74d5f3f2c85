// media::base64_decode on any text, with a round trip through base64_encode for every
// input it accepts.
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const std::vector<uint8_t> decoded = swarmpod::media::base64_decode(text);
        const std::string encoded = swarmpod::media::base64_encode(decoded.data(), decoded.size());
        if (swarmpod::media::base64_decode(encoded) != decoded) std::abort();
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
