// backend::parse_config on any text a host may pass to swarmpod_backend_new.
#include <string>

#include "backend/config.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const swarmpod::backend::Config config = swarmpod::backend::parse_config(text);
        (void)swarmpod::backend::describe_config(config).dump();
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
