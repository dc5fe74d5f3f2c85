#include "interrupt.hpp"

#include "terminal.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <utility>

namespace swarmpod_cli {
namespace {

// Only lock-free atomics may be touched from a signal handler.
static_assert(std::atomic<int>::is_always_lock_free);
std::atomic<int> g_first_signal{0};
std::atomic<int> g_signal_count{0};

extern "C" void handle_interrupt(int signal_number) {
    if (g_signal_count.fetch_add(1) > 0) {
        static const char kMessage[] =
            "\nswarmpod: error: interrupted twice; exited without ending the RunPod job, "
            "which may still be billed\n";
        write_stderr_signal_safe(kMessage, sizeof kMessage - 1);
        std::_Exit(128 + signal_number);
    }
    g_first_signal.store(signal_number);
    // Some platforms reset the handler to the default before calling it.
    std::signal(signal_number, handle_interrupt);
}

} // namespace

void install_interrupt_handlers() {
    std::signal(SIGINT, handle_interrupt);
    std::signal(SIGTERM, handle_interrupt);
    // A closed terminal or SSH session sends SIGHUP, whose default action would end the
    // process with the RunPod job still billing.
    std::signal(SIGHUP, handle_interrupt);
    // A closed pipe on stdout or stderr (`swarmpod ... | head`) would end the process at its
    // next write in the same way. Ignored, the write fails and the generation goes on.
    std::signal(SIGPIPE, SIG_IGN);
}

int received_signal() {
    return g_first_signal.load();
}

InterruptWatcher::InterruptWatcher(swarmpod_generation *generation, std::function<void()> on_interrupt)
    : generation_(generation), on_interrupt_(std::move(on_interrupt)), thread_([this] { run(); }) {}

InterruptWatcher::~InterruptWatcher() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void InterruptWatcher::run() {
    // A signal handler cannot notify a condition variable, so the thread polls the
    // flag. Polling every 50 ms adds little to the time a cancellation takes.
    constexpr auto kPollInterval = std::chrono::milliseconds(50);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        if (received_signal() != 0) {
            lock.unlock();
            on_interrupt_();
            swarmpod_generation_cancel(generation_);
            return;
        }
        wake_.wait_for(lock, kPollInterval, [this] { return stopping_; });
    }
}

} // namespace swarmpod_cli
