// Declarations shared by WorkerPool's source files (worker/pool*.cpp): the Slot of each
// worker, and the constants and helpers that more than one of those files uses.
#pragma once

#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "worker/pool.hpp"

namespace swarmpod::worker {

enum class SlotState { starting, warm, in_use, releasing };

struct Slot {
    SlotState state = SlotState::starting;
    Lease lease;
    CancelToken withdraw;
    std::thread thread;
    // Progress of a starting slot, shown to the requests that wait for it.
    int phase = kPhaseQueued;
    std::string message = "Waiting for a RunPod worker";
    std::string worker_id;
    Clock::time_point created_at = Clock::now();
    Clock::time_point use_started{};
    Clock::time_point idle_since{};
    Clock::time_point next_check{};
    int generations = 0;
    bool release_after_use = false;
    bool renewing = false;
};

// How often a held v2 lease is checked, so a worker that released itself is dropped.
constexpr Millis kLeaseCheckInterval{15000};
// How long a cancelled or failed generation waits for RunPod to confirm that its worker's
// job ended, before it returns and leaves the job to shutdown.
constexpr Millis kQuickEndWithin{2000};

// One lease's cost ledger entry. It has the seconds from our first job to three moments:
// the worker taking the job (RunPod's queue and the cold start), a ready SwarmUI, and the
// release. It also has the billed seconds RunPod is estimated to charge. A time not
// reached is -1.
nlohmann::json lease_record(const Lease& lease, int generations, double billed_seconds, const std::string& reason);

}  // namespace swarmpod::worker
