// Starts swarmpod-emulator as a real child process on a free loopback port and stops it
// when the test ends.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarmpod::testing {

class EmulatorProcess {
public:
    // Starts the emulator with `--listen 127.0.0.1:0 --quiet` plus `extra_args`, and
    // waits (up to 10 s) for its "listening on" line. Fails the test by throwing.
    explicit EmulatorProcess(std::vector<std::string> extra_args = {});
    ~EmulatorProcess();
    EmulatorProcess(const EmulatorProcess&) = delete;
    EmulatorProcess& operator=(const EmulatorProcess&) = delete;

    int port() const { return port_; }
    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string api_base() const { return base_url() + "/v2"; }

    // GET /admin/ledger.
    nlohmann::json ledger() const;
    // Polls the ledger until `done(ledger)` holds or `timeout_ms` passes; returns the last ledger.
    template <class Predicate>
    nlohmann::json wait_for_ledger(Predicate done, int timeout_ms = 5000) const;

private:
    int pid_ = -1;
    int port_ = 0;
};

// A config for the emulator's defaults: endpoint test-endpoint, loopback worker URLs allowed.
std::string emulator_config(const EmulatorProcess& emulator, const std::string& extra_fields = "");

// A loopback port with nothing listening on it (bound, then closed).
int closed_loopback_port();

}  // namespace swarmpod::testing

#include <chrono>
#include <thread>

template <class Predicate>
nlohmann::json swarmpod::testing::EmulatorProcess::wait_for_ledger(Predicate done, int timeout_ms) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    nlohmann::json last = ledger();
    while (!done(last) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        last = ledger();
    }
    return last;
}
