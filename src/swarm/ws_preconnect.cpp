#include "swarm/ws_preconnect.hpp"

#include <exception>
#include <utility>

#include "log/log.hpp"

namespace swarmpod::swarm {

std::shared_ptr<WsPreconnect> WsPreconnect::start(std::string url, std::string bearer_token, WsOptions options,
                                                  Millis connect_timeout, std::unique_ptr<WsClient> finished,
                                                  Millis close_wait) {
    std::shared_ptr<WsPreconnect> spare(new WsPreconnect());
    spare->last_socket_ = std::move(finished);
    // The thread uses only the object, which outlives it: the destructor joins it.
    spare->thread_ = std::thread([raw = spare.get(), url = std::move(url), token = std::move(bearer_token),
                                  options = std::move(options), connect_timeout, close_wait]() mutable {
        raw->run(std::move(url), std::move(token), std::move(options), connect_timeout);
        raw->close_finished(close_wait);
    });
    return spare;
}

void WsPreconnect::close_finished(Millis close_wait) noexcept {
    if (!last_socket_) return;
    last_socket_->close(close_wait, &cancel_);
    last_socket_.reset();
}

void WsPreconnect::run(std::string url, std::string bearer_token, WsOptions options, Millis connect_timeout) {
    std::unique_ptr<WsClient> socket;
    try {
        socket = std::make_unique<WsClient>(std::move(options));
        socket->connect(url, bearer_token, Deadline::in(connect_timeout), &cancel_);
    } catch (const std::exception& error) {
        SP_DEBUG("Opening a WebSocket ahead of the next generation failed: {}", error.what());
        socket.reset();
    } catch (...) {
        socket.reset();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    socket_ = std::move(socket);
    opened_at_ = Clock::now();
    done_ = true;
    finished_.notify_all();
}

WsPreconnect::~WsPreconnect() {
    cancel_.cancel();
    if (thread_.joinable()) thread_.join();
    if (socket_) socket_->abort();
}

std::unique_ptr<WsClient> WsPreconnect::take(Millis max_age, const CancelToken* cancel) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_ && (cancel == nullptr || !cancel->cancelled())) finished_.wait_for(lock, Millis(50));
    if (!done_ || !socket_ || Clock::now() - opened_at_ > max_age) return nullptr;
    return std::move(socket_);
}

}  // namespace swarmpod::swarm
