// The RunPod Serverless queue API (/v2/<endpoint>/...) and the emulator's /admin routes, on the main port.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config.hpp"
#include "faults.hpp"
#include "scheduler.hpp"

namespace httplib {
class Server;
}

namespace emulator {

class RunPodApi {
public:
    RunPodApi(const Config& config, Scheduler& scheduler, Faults& faults);
    ~RunPodApi();
    RunPodApi(const RunPodApi&) = delete;
    RunPodApi& operator=(const RunPodApi&) = delete;

    // Binds the listen address; returns the bound port or throws std::runtime_error.
    std::uint16_t bind();
    // Serves until stop() or POST /admin/shutdown. Blocks the caller.
    void serve();
    void stop();

private:
    void add_runpod_routes();
    void add_admin_routes();

    const Config& config_;
    Scheduler& scheduler_;
    Faults& faults_;
    std::unique_ptr<httplib::Server> server_;
};

} // namespace emulator
