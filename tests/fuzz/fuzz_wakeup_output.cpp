// worker::parse_wakeup_output on the /status reply of a v1 wakeup job, read through
// runpod::parse_job as the worker pool reads it. Error (ProtocolMismatch included) is
// the documented rejection, and any other exception or a crash is a bug.
#include <cstdlib>

#include "core/error.hpp"
#include "fuzz_json.hpp"
#include "runpod/job.hpp"
#include "worker/worker_outputs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto reply = swarmpod::fuzz::parse_json(data, size);
    if (!reply) return 0;
    try {
        swarmpod::runpod::Job job = swarmpod::runpod::parse_job(*reply);
        // The pool reads the output only once the job is terminal; the parser must
        // still hold for any state.
        const swarmpod::worker::WakeupOutput wakeup = swarmpod::worker::parse_wakeup_output(job);
        if (wakeup.public_url.empty()) std::abort();
        (void)swarmpod::worker::describe_job_failure(job);
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
