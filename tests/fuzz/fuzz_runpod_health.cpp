// runpod::parse_health and the diagnosis built from it, on any /health reply.
#include "core/error.hpp"
#include "fuzz_json.hpp"
#include "runpod/diagnosis.hpp"
#include "runpod/job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto reply = swarmpod::fuzz::parse_json(data, size);
    if (!reply) return 0;
    try {
        const swarmpod::runpod::Health health = swarmpod::runpod::parse_health(*reply);
        (void)swarmpod::runpod::diagnose(health);
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
