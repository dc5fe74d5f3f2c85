// Cooperative cancellation shared by a generation and every wait and HTTP call it makes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace swarmpod {

class CancelToken {
public:
    void cancel() noexcept {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            cancelled_.store(true, std::memory_order_release);
        }
        cv_.notify_all();
    }

    bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

    // Sleeps for `duration` or until cancelled. Returns true when cancelled.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> duration) const {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, duration, [this] { return cancelled(); });
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace swarmpod
