// WorkerPool's status snapshot and cost ledger.
#include "worker/pool.hpp"

#include "worker/pool_internal.hpp"

namespace swarmpod::worker {
namespace {

const char* slot_state_name(SlotState state) {
    switch (state) {
        case SlotState::starting: return "starting";
        case SlotState::warm: return "warm";
        case SlotState::in_use: return "in_use";
        case SlotState::releasing: return "releasing";
    }
    return "unknown";
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
    if (from == Clock::time_point{} || to == Clock::time_point{} || to < from) return -1;
    return std::chrono::duration<double>(to - from).count();
}

}  // namespace

nlohmann::json lease_record(const Lease& lease, int generations, double billed_seconds, const std::string& reason) {
    return {{"worker_id", lease.worker_id},
            {"protocol", lease.protocol},
            {"picked_after_seconds", seconds_between(lease.requested_at, lease.picked_at)},
            {"ready_after_seconds", seconds_between(lease.requested_at, lease.ready_at)},
            {"released_after_seconds", seconds_between(lease.requested_at, lease.released_at)},
            {"generations", generations},
            {"estimated_billed_seconds", billed_seconds},
            {"release_reason", reason}};
}

nlohmann::json WorkerPool::status() const {
    std::lock_guard<std::mutex> lock(mutex_);
    nlohmann::json workers = nlohmann::json::array();
    int warm = 0, starting = 0, in_use = 0;
    const Clock::time_point now = Clock::now();
    double live_billed = 0;
    for (const auto& slot : slots_) {
        warm += slot->state == SlotState::warm;
        starting += slot->state == SlotState::starting;
        in_use += slot->state == SlotState::in_use;
        live_billed += estimated_billed_seconds(slot->lease, now, settings_.endpoint_idle_seconds);
        workers.push_back({{"worker_id", slot->lease.worker_id.empty() ? slot->worker_id : slot->lease.worker_id},
                           {"state", slot_state_name(slot->state)},
                           {"protocol", slot->lease.protocol},
                           {"job_id", slot->lease.hold_job_id},
                           {"public_url", slot->lease.public_url},
                           {"age_seconds", slot->lease.requested_at == Clock::time_point{}
                                               ? 0.0
                                               : seconds_since(slot->lease.requested_at)},
                           {"generations", slot->generations},
                           {"picked_after_seconds", seconds_between(slot->lease.requested_at, slot->lease.picked_at)},
                           {"ready_after_seconds", seconds_between(slot->lease.requested_at, slot->lease.ready_at)},
                           {"estimated_billed_seconds",
                            estimated_billed_seconds(slot->lease, now, settings_.endpoint_idle_seconds)},
                           {"in_use", slot->state == SlotState::in_use},
                           {"message", slot->state == SlotState::starting ? slot->message : ""}});
    }
    return {{"workers", workers},
            {"warm", warm},
            {"starting", starting},
            {"in_use", in_use},
            {"max", max_workers_locked()},
            {"max_configured", settings_.max_workers},
            {"single_worker_reason", single_worker_reason_},
            {"waiting_requests", waiters_},
            {"leases_started", leases_started_},
            {"estimated_billed_seconds", released_billed_seconds_ + live_billed},
            {"released_leases", released_leases_},
            {"last_error", last_error_text_}};
}

double WorkerPool::billed_seconds_estimate() const {
    std::lock_guard<std::mutex> lock(mutex_);
    double live = 0;
    for (const auto& slot : slots_) live += estimated_billed_seconds(slot->lease, Clock::now(), settings_.endpoint_idle_seconds);
    return released_billed_seconds_ + live;
}

}  // namespace swarmpod::worker
