// WorkerPool's monitor thread (keep-warm expiry, v2 lease checks, v1 keepalive
// renewal) and stop_worker.
#include "worker/pool.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "log/log.hpp"
#include "worker/pool_internal.hpp"
#include "worker/v1_worker.hpp"
#include "worker/v2_lease.hpp"

namespace swarmpod::worker {
namespace {

// A warm v2 worker is released by us this long before its own idle window would end,
// so no generation is routed to a worker that is releasing itself.
constexpr double kIdleMarginSeconds = 3;

}  // namespace

void WorkerPool::monitor_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        changed_.wait_for(lock, Millis(200));
        if (stopping_) break;
        // Join acquisition threads that have finished (not the one holding no lock).
        std::vector<std::thread> done;
        for (auto it = finished_threads_.begin(); it != finished_threads_.end();) {
            if (it->get_id() != std::this_thread::get_id()) {
                done.push_back(std::move(*it));
                it = finished_threads_.erase(it);
            } else {
                ++it;
            }
        }
        const Clock::time_point now = Clock::now();
        std::vector<std::pair<std::shared_ptr<Slot>, std::string>> to_end;
        std::vector<std::pair<std::shared_ptr<Slot>, Lease>> to_check;
        std::vector<std::shared_ptr<Slot>> to_renew;
        for (const auto& slot : slots_) {
            // A warm worker is never ended while a request waits: that request takes it.
            if (slot->state == SlotState::warm && waiters_ == 0) {
                const double idle = std::chrono::duration<double>(now - slot->idle_since).count();
                if (slot->release_after_use) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "stopped on request");
                } else if (idle >= settings_.keep_warm_sec) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "idle for " + whole_seconds(idle) + " s");
                } else if (slot->lease.protocol == 2 && slot->lease.idle_seconds > 0 &&
                           idle >= slot->lease.idle_seconds - kIdleMarginSeconds) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "the worker's idle window is ending");
                } else if (slot->lease.protocol == 1 && slot->lease.hold_expires_at - now < settings_.keepalive_margin) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "keepalive window ending");
                }
            }
            if ((slot->state == SlotState::warm || slot->state == SlotState::in_use) && now >= slot->next_check) {
                slot->next_check = now + kLeaseCheckInterval;
                if (slot->lease.protocol == 2 && !slot->lease.hold_job_id.empty()) to_check.emplace_back(slot, slot->lease);
            }
            // A failed renewal is not tried again: each try may start a stray worker, and
            // the worker is released when its generation ends anyway.
            if (slot->state == SlotState::in_use && slot->lease.protocol == 1 && !slot->renewing &&
                !slot->release_after_use && slot->lease.hold_expires_at - now < settings_.keepalive_margin) {
                slot->renewing = true;
                to_renew.push_back(slot);
            }
        }
        lock.unlock();
        for (auto& thread : done) thread.join();
        for (auto& [slot, reason] : to_end) end_slot(slot, reason);
        for (auto& [slot, lease] : to_check) {
            if (auto reason = check_v2_lease(client_, lease, &abort_)) {
                SP_INFO("Worker {} released its lease ({})", lease.worker_id, *reason);
                std::lock_guard<std::mutex> relock(mutex_);
                slot->lease.release_reason = *reason;
                tracker_.remove(slot->lease.hold_job_id);
                slot->lease.hold_job_id.clear();
                if (slot->state == SlotState::warm) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, *reason);
                } else {
                    slot->release_after_use = true;
                }
            }
        }
        for (auto& slot : to_renew) {
            const Deadline deadline = Deadline::in(std::chrono::seconds(settings_.startup_timeout_sec));
            AcquireContext context{client_, tracker_, api_key_, settings_.max_poll_interval, deadline,
                                   settings_.url_policy, slot->withdraw, abort_,
                                   [](int, const std::string&, const std::string&) {}};
            context.keepalive_seconds = settings_.keepalive_seconds;
            Lease lease;
            {
                std::lock_guard<std::mutex> relock(mutex_);
                lease = slot->lease;
            }
            const bool renewed = renew_v1(context, lease);
            std::lock_guard<std::mutex> relock(mutex_);
            slot->renewing = false;
            if (renewed) {
                slot->lease = lease;
                note_unverified_hold_locked(lease);
            } else {
                slot->release_after_use = true;
            }
        }
        lock.lock();
        for (auto& [slot, reason] : to_end) {
            if (std::find(slots_.begin(), slots_.end(), slot) != slots_.end()) {
                lock.unlock();
                end_slot(slot, reason);
                lock.lock();
            }
        }
    }
}

bool WorkerPool::stop_worker(const std::string& worker_id) {
    std::shared_ptr<Slot> target;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& slot : slots_) {
            if (slot->lease.worker_id != worker_id || worker_id.empty()) continue;
            if (slot->state == SlotState::warm) {
                slot->state = SlotState::releasing;
                target = slot;
            } else {
                slot->release_after_use = true;
            }
            break;
        }
        if (!target) {
            for (const auto& slot : slots_) {
                if (slot->lease.worker_id == worker_id && !worker_id.empty()) return true;
            }
            return false;
        }
    }
    end_slot(target, "stopped on request");
    return true;
}

}  // namespace swarmpod::worker
