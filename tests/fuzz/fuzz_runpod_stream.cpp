// runpod::parse_stream on any JSON a RunPod /stream reply can carry.
#include "core/error.hpp"
#include "fuzz_json.hpp"
#include "runpod/job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto reply = swarmpod::fuzz::parse_json(data, size);
    if (!reply) return 0;
    try {
        const swarmpod::runpod::StreamReply stream = swarmpod::runpod::parse_stream(*reply);
        for (const auto& chunk : stream.chunks) (void)chunk.output.dump();
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
