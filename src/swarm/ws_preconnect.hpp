// A GenerateText2ImageWS socket opened in the background while a warm worker waits for its
// next generation, so that generation skips the TCP connect, the TLS handshake and the
// upgrade (several round trips through RunPod's proxy).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "swarm/ws_client.hpp"

namespace swarmpod::swarm {

class WsPreconnect {
public:
    // Starts connecting to `url` with `bearer_token` on a thread of its own, giving up
    // after `connect_timeout`. A failure is logged at debug level only: the generation
    // then connects by itself. Once the connect ends, the same thread closes `finished`
    // (the socket of the last generation, may be null), waiting up to `close_wait` for the
    // worker's Close frame.
    static std::shared_ptr<WsPreconnect> start(std::string url, std::string bearer_token, WsOptions options,
                                               Millis connect_timeout, std::unique_ptr<WsClient> finished = nullptr,
                                               Millis close_wait = Millis(1000));

    // Cancels a connect or close in progress, waits for its thread (within about 100 ms)
    // and drops an unused socket.
    ~WsPreconnect();
    WsPreconnect(const WsPreconnect&) = delete;
    WsPreconnect& operator=(const WsPreconnect&) = delete;

    // Returns the open socket when the connect succeeded and the socket is younger than
    // `max_age`, else null. Waits for a connect still in progress (it is the quickest way
    // to a socket) unless `cancel` is cancelled first. A socket is given out once.
    std::unique_ptr<WsClient> take(Millis max_age, const CancelToken* cancel = nullptr);

private:
    WsPreconnect() = default;
    void run(std::string url, std::string bearer_token, WsOptions options, Millis connect_timeout);
    void close_finished(Millis close_wait) noexcept;

    std::unique_ptr<WsClient> last_socket_;  // the finished socket the thread closes

    std::mutex mutex_;
    std::condition_variable finished_;
    bool done_ = false;
    std::unique_ptr<WsClient> socket_;
    Clock::time_point opened_at_{};
    CancelToken cancel_;
    std::thread thread_;
};

}  // namespace swarmpod::swarm
