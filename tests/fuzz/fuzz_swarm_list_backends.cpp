// worker::count_backends on any ListBackends reply and worker::recent_error_text on any
// ListRecentLogMessages reply: the parsers behind the readiness check of a new worker.
// Neither may throw.
#include <cstdlib>

#include "fuzz_json.hpp"
#include "worker/readiness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto reply = swarmpod::fuzz::parse_json(data, size);
    if (!reply) return 0;
    const swarmpod::worker::BackendCounts counts = swarmpod::worker::count_backends(*reply);
    if (counts.running + counts.loading + counts.failed > counts.total) std::abort();
    if (swarmpod::worker::recent_error_text(*reply).size() > 600) std::abort();
    return 0;
}
