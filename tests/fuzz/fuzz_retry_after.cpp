// runpod::parse_retry_after on any Retry-After header value: delta seconds or an
// HTTP-date. Whatever it returns must be a delay, never negative.
#include <cstdlib>
#include <string>

#include "runpod/retry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string value(reinterpret_cast<const char*>(data), size);
    const auto delay = swarmpod::runpod::parse_retry_after(value);
    if (delay && delay->count() < 0) std::abort();
    const swarmpod::runpod::RetryPolicy policy;
    const auto wait = swarmpod::runpod::backoff_delay(policy, 1 + (size % 70), delay);
    if (wait.count() < 0 || wait > policy.max_delay) std::abort();
    return 0;
}
