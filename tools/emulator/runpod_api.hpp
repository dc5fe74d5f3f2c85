// The RunPod Serverless queue API (/v2/<endpoint>/...) and the emulator's /admin routes, on the main port.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "config.hpp"
#include "faults.hpp"
#include "http_server.hpp"
#include "scheduler.hpp"

namespace emulator {

class RunPodApi {
public:
    RunPodApi(const Config& config, Scheduler& scheduler, Faults& faults);
    ~RunPodApi();
    RunPodApi(const RunPodApi&) = delete;
    RunPodApi& operator=(const RunPodApi&) = delete;

    // Binds the listen address; returns the bound port. Throws boost::system::system_error on failure.
    std::uint16_t bind();
    // Blocks until request_stop() or POST /admin/shutdown.
    void wait_for_stop();
    void request_stop();
    // Closes the port and every connection.
    void stop();

private:
    void handle(Exchange& exchange);
    void handle_endpoint(Exchange& exchange, const std::string& operation, const std::string& job_id);
    void handle_admin(Exchange& exchange);

    const Config& config_;
    Scheduler& scheduler_;
    Faults& faults_;
    HttpServer http_;

    std::mutex mutex_;
    std::condition_variable stop_requested_;
    bool stopping_ = false;
};

} // namespace emulator
