// A worker held for our use: its address, the job that keeps it alive, and timings.
#pragma once

#include <string>

#include "core/clock.hpp"

namespace swarmpod::worker {

struct Lease {
    std::string worker_id;
    std::string public_url;    // checked against the allow-list
    std::string token;         // v2 per-lease bearer token; empty for v1
    std::string hold_job_id;   // the running job that keeps the worker (v1 keepalive, v2 lease)
    std::string wakeup_job_id; // v1 only
    int protocol = 1;
    Clock::time_point requested_at{};  // when we submitted the first job for this worker
    Clock::time_point ready_at{};      // when the worker's SwarmUI answered
    Clock::time_point released_at{};
    double queue_seconds = 0;          // RunPod's delayTime of the first job, when reported
};

}  // namespace swarmpod::worker
