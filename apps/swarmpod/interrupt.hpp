// Ctrl-C handling: the first SIGINT, SIGTERM or SIGHUP cancels the generation so the
// library ends the billed RunPod job; a second one exits at once. SIGPIPE is ignored.
#pragma once

#include <swarmpod/swarmpod.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace swarmpod_cli {

// Installs the SIGINT, SIGTERM and SIGHUP handlers for the rest of the process and
// ignores SIGPIPE, so that no signal but SIGKILL ends it with a job still running. The
// handler only records the signal. A second signal writes one error line and exits with
// 128 + the signal number, without ending the RunPod job.
void install_interrupt_handlers();

// Returns the first signal received (SIGINT, SIGTERM or SIGHUP), or 0.
int received_signal();

// Watches for the recorded signal on its own thread and, when it arrives, runs
// `on_interrupt` once and cancels `generation`. Destroying the watcher stops the
// thread, so destroy it before freeing the generation handle.
class InterruptWatcher {
public:
    InterruptWatcher(swarmpod_generation *generation, std::function<void()> on_interrupt);
    ~InterruptWatcher();
    InterruptWatcher(const InterruptWatcher &) = delete;
    InterruptWatcher &operator=(const InterruptWatcher &) = delete;

private:
    void run();

    swarmpod_generation *generation_;
    std::function<void()> on_interrupt_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace swarmpod_cli
