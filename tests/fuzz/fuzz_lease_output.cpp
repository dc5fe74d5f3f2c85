// worker::parse_lease_output on any JSON a v2 lease job can stream as its first output,
// and on the same JSON read as the job's aggregated /status output (first_lease_output,
// lease_release_reason). Error (ProtocolMismatch included) is the documented rejection.
#include <cstdlib>

#include "core/error.hpp"
#include "fuzz_json.hpp"
#include "runpod/job.hpp"
#include "worker/worker_outputs.hpp"

namespace {

void check_lease(const nlohmann::json& output, const swarmpod::runpod::Job& job) {
    try {
        const swarmpod::worker::LeaseOutput lease = swarmpod::worker::parse_lease_output(output, job);
        // An accepted lease always carries what the gateway needs.
        if (lease.protocol < 2 || lease.public_url.empty() || lease.token.empty()) std::abort();
    } catch (const swarmpod::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto output = swarmpod::fuzz::parse_json(data, size);
    if (!output) return 0;

    swarmpod::runpod::Job job;
    job.id = "lease-job-1";
    job.worker_id = "pod123";
    job.state = swarmpod::runpod::JobState::in_progress;
    check_lease(*output, job);

    job.output = *output;
    if (const auto first = swarmpod::worker::first_lease_output(job)) check_lease(*first, job);
    job.state = swarmpod::runpod::JobState::completed;
    if (swarmpod::worker::lease_release_reason(job).empty()) std::abort();
    return 0;
}
