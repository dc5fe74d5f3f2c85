// The HTTP (and WebSocket) server of one worker's SwarmUI, on its own loopback port.
// With the v2 gateway it also checks the lease's Bearer token before SwarmUI sees a request.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config.hpp"
#include "faults.hpp"
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

    // Binds 127.0.0.1 on a free port and starts accepting. Throws boost::system::system_error on failure.
    void start();
    // Closes the port and every open connection, ends running generations and joins all threads.
    void stop();

    std::uint16_t port() const { return port_; }
    SwarmApi& api() { return api_; }

    // Until ready, every request gets 503 worker_starting, as while SwarmUI boots.
    void set_ready(bool ready) { ready_ = ready; }
    // Rules for worker:<Route> faults; `kill` stops this worker as if its container died.
    void set_fault_hooks(Faults* faults, std::function<void(const std::string& worker_id)> kill);
    // Sets the lease token; nullopt rejects every request and closes open WebSockets.
    void set_token(std::optional<std::string> token);

private:
    struct Connection {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
        int native_handle = -1;
        bool websocket = false;
    };

    void accept_next();
    void serve(boost::asio::ip::tcp::socket socket, std::shared_ptr<std::atomic<bool>> done);
    void reap_finished_connections();
    void close_websockets();
    bool token_matches(const std::string& authorization, const std::string& cookie) const;
    void mark_websocket(int native_handle);

    const Config& config_;
    const std::string worker_id_;
    const bool gateway_;
    SwarmApi api_;

    boost::asio::io_context io_context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread accept_thread_;
    std::uint16_t port_ = 0;
    std::atomic<bool> ready_{false};
    Faults* faults_ = nullptr;
    std::function<void(const std::string&)> kill_;
    std::atomic<bool> stopped_{false};

    mutable std::mutex mutex_;
    std::optional<std::string> token_;
    std::list<Connection> connections_;
};

} // namespace emulator
