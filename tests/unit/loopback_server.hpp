// A real cpp-httplib server on 127.0.0.1 with a free port, for the transport tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <httplib.h>

namespace swarmpod::test {

class LoopbackServer {
public:
    LoopbackServer() : server_(std::make_unique<httplib::Server>()) {}
    // An HTTPS server with this PEM certificate and key.
    LoopbackServer(const std::string& cert_path, const std::string& key_path)
        : server_(std::make_unique<httplib::SSLServer>(cert_path.c_str(), key_path.c_str())), scheme_("https") {
        if (!server_->is_valid()) throw std::runtime_error("cannot load the test TLS certificate " + cert_path);
    }

    // Register routes on server() before calling start().
    httplib::Server& server() { return *server_; }

    void start() {
        // Without TCP_NODELAY, cpp-httplib's separate writes of headers and body meet
        // delayed ACKs and each reply takes tens of milliseconds.
        server_->set_tcp_nodelay(true);
        port_ = server_->bind_to_any_port("127.0.0.1");
        if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port for the test server");
        thread_ = std::thread([this] { server_->listen_after_bind(); });
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!server_->is_running()) {
            if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("test server did not start");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    ~LoopbackServer() {
        server_->stop();
        if (thread_.joinable()) thread_.join();
    }

    int port() const { return port_; }
    std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }

private:
    std::unique_ptr<httplib::Server> server_;
    std::string scheme_ = "http";
    std::thread thread_;
    int port_ = 0;
};

// Returns a loopback port that nothing listens on: it binds one, reads its number and
// closes it. Another process could take it in between, which is unlikely in a test.
inline int closed_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind a loopback port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

}  // namespace swarmpod::test
