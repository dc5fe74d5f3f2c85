// One worker's SwarmUI on its own loopback port: HTTP routes and the GenerateText2ImageWS WebSocket.
// With the v2 gateway it checks the lease Bearer token before a request reaches SwarmUI.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "config.hpp"
#include "faults.hpp"
#include "http_server.hpp"
#include "ledger.hpp"
#include "models.hpp"
#include "swarm_api.hpp"

namespace emulator {

class WorkerServer {
public:
    // `gateway` puts the v2 token check and its error shapes in front of SwarmUI.
    WorkerServer(const Config& config, const ModelCatalog& models, Ledger& ledger, std::string worker_id,
                 bool gateway);
    ~WorkerServer();
    WorkerServer(const WorkerServer&) = delete;
    WorkerServer& operator=(const WorkerServer&) = delete;

    // Rules for worker:<Route> faults; `kill` stops this worker as if its container died. Call before start().
    void set_fault_hooks(Faults* faults, std::function<void(const std::string& worker_id)> kill);
    // Binds 127.0.0.1 on a free port and starts accepting, over TLS when the config names a certificate.
    // Throws boost::system::system_error, or std::runtime_error for an unusable certificate or key.
    void start();
    // Ends running generations, closes the port and every connection, and joins all threads.
    void stop();

    std::uint16_t port() const { return port_; }
    SwarmApi& api() { return api_; }

    // Until ready, every request gets 503 worker_starting, as while SwarmUI boots.
    void set_ready(bool ready) { ready_ = ready; }
    // Sets the lease token; nullopt rejects every request and closes open WebSockets.
    void set_token(std::optional<std::string> token);

private:
    void handle(Exchange& exchange);
    // Applies a worker:<Route> fault; returns true when the request is fully handled.
    bool apply_fault(Exchange& exchange);
    void handle_api(Exchange& exchange, const std::string& route);
    bool token_matches(const HttpRequest& request) const;

    const Config& config_;
    const std::string worker_id_;
    const bool gateway_;
    Ledger& ledger_;
    SwarmApi api_;
    HttpServer http_;
    std::uint16_t port_ = 0;
    std::atomic<bool> ready_{false};
    Faults* faults_ = nullptr;
    std::function<void(const std::string&)> kill_;

    mutable std::mutex mutex_;
    std::optional<std::string> token_;
};

} // namespace emulator
