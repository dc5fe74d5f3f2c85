// A blocking WebSocket client on Boost.Beast for one GenerateText2ImageWS socket,
// over ws:// or wss://. Every wait wakes at least every 100 ms to check the cancel token.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace swarmpod::swarm {

// Default for the largest WebSocket message accepted (MaxWebSocketMessageMiB). An image
// message carries the image as base64, 4/3 of its size: a 4096 x 4096 8-bit RGBA PNG that
// does not compress is 64 MiB, so about 85 MiB as base64, and a 16-bit one about 171 MiB.
constexpr std::size_t kDefaultMaxMessageBytes = 256ull * 1024 * 1024;

struct WsOptions {
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
    std::string ca_bundle;  // PEM file added to the system trust store for wss://; empty = system only
    std::string user_agent = "swarmpod";
};

enum class ReadResult {
    message,  // `out` holds one complete text message
    closed,   // the server sent a Close frame
    silent,   // nothing arrived within the idle timeout; the socket was dropped
    cut,      // the connection ended without a Close frame (end of stream, reset, TLS truncation)
};

class WsClient {
public:
    explicit WsClient(WsOptions options);
    // Drops the TCP connection if it is still open; never blocks.
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Connects to `url` (ws:// or wss://host[:port]/path) and completes the upgrade,
    // sending `Authorization: Bearer <bearer_token>` when the token is not empty.
    // Throws Error: invalid_argument (bad URL), network, tls, timeout, cancelled, or
    // worker for a refused upgrade (quoting the HTTP status).
    void connect(const std::string& url, const std::string& bearer_token, Deadline deadline,
                 const CancelToken* cancel);

    // Sends one text frame. Throws Error(network | timeout | cancelled).
    void send_text(std::string_view text, Deadline deadline, const CancelToken* cancel);

    // Reads one message into `out` (replacing its content). Returns silent when nothing
    // arrived for `idle_timeout`, cut when the peer or a proxy ended the connection
    // without a Close frame. Throws Error: too_large (over max_message_bytes),
    // timeout (deadline), cancelled, network, tls. After a throw or a result other than
    // message the socket is unusable.
    ReadResult read(std::string& out, Millis idle_timeout, Deadline deadline, const CancelToken* cancel);

    // Sends a Close frame and waits up to `wait` for the server's, or until `cancel` is
    // cancelled. Drops the connection when that fails. Errors are logged, not thrown.
    void close(Millis wait, const CancelToken* cancel = nullptr) noexcept;

    // Drops the TCP connection at once. Never throws.
    void abort() noexcept;

    bool is_open() const noexcept;
    // host[:port] of the connected URL, for messages.
    const std::string& host() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Returns the WebSocket URL of `route` on a SwarmUI at `base_url`: http:// becomes
// ws:// and https:// becomes wss://. Throws Error(invalid_argument) for another scheme.
std::string websocket_url(const std::string& base_url, const std::string& route);

}  // namespace swarmpod::swarm
