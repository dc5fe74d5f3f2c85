// HTTP transport on libcurl: one Client per backend, safe to use from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace swarmpod::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method = "GET";  // GET or POST
    std::string url;
    Headers headers;             // sent as given; Content-Type is added for a POST body
    std::string body;            // sent with an exact Content-Length when method is POST
    Millis timeout{30000};       // whole transfer
    Millis connect_timeout{10000};
};

struct Response {
    long status = 0;
    Headers headers;             // names lower-cased, in arrival order
    std::string body;
    // Returns the first header with this lower-case name, if any.
    std::optional<std::string> header(const std::string& lower_name) const;
};

struct ClientOptions {
    std::string ca_bundle;              // PEM file added to trust; empty = system store
    std::size_t max_response_bytes = 512ull * 1024 * 1024;
    std::string user_agent = "swarmpod";
};

// How a failed transfer failed. `certainly_not_sent` is true only when the request
// cannot have reached the server (DNS failure, connection refused), which is the one
// case where a non-idempotent POST may be sent again.
struct TransportFailure {
    Status status = Status::network;  // network, timeout, tls, too_large, cancelled
    bool certainly_not_sent = false;
    std::string message;
};

class TransportError : public Error {
public:
    explicit TransportError(TransportFailure failure)
        : Error(failure.status, failure.message), failure_(std::move(failure)) {}
    const TransportFailure& failure() const noexcept { return failure_; }

private:
    TransportFailure failure_;
};

class Client {
public:
    explicit Client(ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Performs one request. Any HTTP status is a Response; a transfer that did not
    // complete throws TransportError. `cancel` aborts the transfer within ~100 ms.
    // TLS peer and host verification are always on.
    Response perform(const Request& request, const CancelToken* cancel = nullptr);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace swarmpod::http
