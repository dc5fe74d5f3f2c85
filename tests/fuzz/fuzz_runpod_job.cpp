// runpod::parse_job on any JSON a RunPod /run, /status or /cancel reply can carry.
// Error is the documented rejection; any other exception or a crash is a bug.
#include "core/error.hpp"
#include "fuzz_json.hpp"
#include "runpod/job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto reply = swarmpod::fuzz::parse_json(data, size);
    if (!reply) return 0;
    try {
        const swarmpod::runpod::Job job = swarmpod::runpod::parse_job(*reply);
        // The worker protocols copy and print the output and the error text.
        const std::string shown = job.output.dump() + job.error + job.worker_id;
        (void)shown;
        (void)swarmpod::runpod::is_terminal(job.state);
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
