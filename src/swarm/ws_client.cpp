#include "swarm/ws_client.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "log/log.hpp"
#include "swarm/client.hpp"

namespace swarmpod::swarm {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

using PlainSocket = websocket::stream<beast::tcp_stream>;
using TlsSocket = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// How often a blocking wait wakes to check the cancel token and the deadline.
constexpr Millis kPollInterval{100};
// How long the pending operations may take to finish once the socket was dropped.
constexpr Millis kDrainWait{2000};

struct ParsedUrl {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;  // path and query, starting with '/'
};

ParsedUrl parse_ws_url(const std::string& url) {
    ParsedUrl parsed;
    std::size_t rest = 0;
    if (url.rfind("ws://", 0) == 0) {
        rest = 5;
    } else if (url.rfind("wss://", 0) == 0) {
        parsed.tls = true;
        rest = 6;
    } else {
        throw Error(Status::invalid_argument,
                    "The WebSocket URL must start with ws:// or wss://, got '" + log::redact(url.substr(0, 80)) + "'.");
    }
    const std::size_t slash = url.find('/', rest);
    std::string authority = url.substr(rest, slash == std::string::npos ? std::string::npos : slash - rest);
    parsed.target = slash == std::string::npos ? "/" : url.substr(slash);
    const std::size_t at = authority.rfind('@');
    if (at != std::string::npos) authority.erase(0, at + 1);

    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string::npos) {
            throw Error(Status::invalid_argument, "The WebSocket URL has an unclosed IPv6 address: '" + authority + "'.");
        }
        parsed.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':') parsed.port = authority.substr(close + 2);
    } else {
        const std::size_t colon = authority.rfind(':');
        parsed.host = authority.substr(0, colon);
        if (colon != std::string::npos) parsed.port = authority.substr(colon + 1);
    }
    if (parsed.host.empty()) {
        throw Error(Status::invalid_argument, "The WebSocket URL has no host: '" + log::redact(url.substr(0, 80)) + "'.");
    }
    if (parsed.port.empty()) parsed.port = parsed.tls ? "443" : "80";
    if (parsed.port.find_first_not_of("0123456789") != std::string::npos || parsed.port.size() > 5 ||
        std::stoul(parsed.port) > 65535) {
        throw Error(Status::invalid_argument, "The WebSocket URL has an invalid port '" + parsed.port + "'.");
    }
    return parsed;
}

// Returns true when the connection ended without a WebSocket Close frame: the TCP stream
// ended or was reset, or a TLS stream ended without close_notify.
bool is_cut(const beast::error_code& error) {
    return error == net::error::eof || error == net::error::connection_reset ||
           error == net::error::connection_aborted || error == net::error::broken_pipe ||
           error == net::ssl::error::stream_truncated;
}

bool is_tls_error(const beast::error_code& error) {
    return error.category() == net::error::get_ssl_category() ||
           error.category() == net::ssl::error::get_stream_category();
}

// Turns a refused upgrade into the error swarm::Client gives for the same HTTP reply.
[[noreturn]] void throw_upgrade_refused(const http::response<http::string_body>& response, const std::string& host) {
    const unsigned status = response.result_int();
    std::string body = response.body().substr(0, 200);
    for (char& c : body) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    const std::string what = "The worker at " + host + " refused the WebSocket upgrade with HTTP " +
                             std::to_string(status) + " '" + log::redact(body) + "'";
    if (status == 401 && body.find("worker_unauthorized") != std::string::npos) {
        throw WorkerError(WorkerState::lease_ended, what + ": the lease token is no longer valid. Lease a worker again.");
    }
    if (status == 503 && body.find("worker_starting") != std::string::npos) {
        throw WorkerError(WorkerState::starting, what + ": its SwarmUI is still starting; retry shortly.");
    }
    if (status == 502) throw WorkerError(WorkerState::upstream_down, what + ": its SwarmUI is not reachable.");
    if (status == 401) {
        throw Error(Status::auth, what + ". Clear the Network.RequiredAuthorization setting of that SwarmUI, or use a "
                                         "v2 worker, whose gateway takes the lease token.");
    }
    throw WorkerError(WorkerState::reported_error, what + ".");
}

}  // namespace

struct WsClient::Impl {
    WsOptions options;
    net::io_context io;
    std::unique_ptr<net::ssl::context> tls_context;
    std::unique_ptr<PlainSocket> plain;
    std::unique_ptr<TlsSocket> secure;
    std::string host_label;

    explicit Impl(WsOptions options_in) : options(std::move(options_in)) {}

    // Sockets are destroyed before the io_context; a handler still queued then is
    // destroyed without being run, so it never touches a returned function's locals.
    ~Impl() { drop(); }

    bool has_socket() const noexcept { return plain != nullptr || secure != nullptr; }

    beast::tcp_stream& lowest() {
        if (plain) return plain->next_layer();
        return beast::get_lowest_layer(*secure);
    }

    template <class Action>
    void with_socket(Action&& action) {
        if (plain) {
            action(*plain);
        } else {
            action(*secure);
        }
    }

    void drop() noexcept {
        if (!has_socket()) return;
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().socket().close(ignored);
    }

    // Runs the io_context until `done`, after dropping the socket so pending operations end.
    void drain(const bool& done) noexcept {
        const auto until = Clock::now() + kDrainWait;
        while (!done && Clock::now() < until) {
            io.restart();
            io.run_for(kPollInterval);
        }
    }

    // Waits for the operation that sets `done`, waking every kPollInterval. Throws
    // cancelled or timeout after dropping the socket, or returns false when
    // `idle_until` passed first (the socket is dropped then too).
    bool wait(const bool& done, Deadline deadline, const CancelToken* cancel, const std::string& what,
              Clock::time_point idle_until = Clock::time_point::max()) {
        while (!done) {
            io.restart();
            io.run_for(kPollInterval);
            if (done) break;
            const bool cancelled = cancel != nullptr && cancel->cancelled();
            const bool expired = deadline.expired();
            const bool idle = Clock::now() >= idle_until;
            if (!cancelled && !expired && !idle) continue;
            drop();
            drain(done);
            if (cancelled) throw Error(Status::cancelled, "Cancelled while " + what + " (worker at " + host_label + ").");
            if (expired) throw Error(Status::timeout, "Timed out while " + what + " (worker at " + host_label + ").");
            return false;
        }
        return true;
    }

    [[noreturn]] void fail(const beast::error_code& error, const std::string& what) {
        const std::string text = what + " (worker at " + host_label + ") failed: " + error.message();
        if (is_tls_error(error)) throw Error(Status::tls, text + ". Check the worker's certificate or CaBundle.");
        throw Error(Status::network, text + ".");
    }
};

WsClient::WsClient(WsOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

WsClient::~WsClient() = default;

bool WsClient::is_open() const noexcept {
    if (impl_->plain) return impl_->plain->is_open();
    if (impl_->secure) return impl_->secure->is_open();
    return false;
}

const std::string& WsClient::host() const noexcept { return impl_->host_label; }

void WsClient::connect(const std::string& url, const std::string& bearer_token, Deadline deadline,
                       const CancelToken* cancel) {
    Impl& impl = *impl_;
    const ParsedUrl parsed = parse_ws_url(url);
    const bool default_port = parsed.port == (parsed.tls ? "443" : "80");
    const std::string host_header = parsed.host + (default_port ? "" : ":" + parsed.port);
    impl.host_label = host_header;

    if (parsed.tls) {
        impl.tls_context = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
        beast::error_code error;
        impl.tls_context->set_default_verify_paths(error);
        if (!impl.options.ca_bundle.empty()) {
            impl.tls_context->load_verify_file(impl.options.ca_bundle, error);
            if (error) {
                throw Error(Status::tls, "Could not load the CA bundle '" + impl.options.ca_bundle +
                                             "': " + error.message() + ". Check the CaBundle setting.");
            }
        }
        impl.tls_context->set_verify_mode(net::ssl::verify_peer);
        impl.secure = std::make_unique<TlsSocket>(impl.io, *impl.tls_context);
        if (SSL_set_tlsext_host_name(impl.secure->next_layer().native_handle(), parsed.host.c_str()) != 1) {
            throw Error(Status::tls, "Could not set the TLS server name '" + parsed.host + "'.");
        }
        impl.secure->next_layer().set_verify_callback(net::ssl::host_name_verification(parsed.host));
    } else {
        impl.plain = std::make_unique<PlainSocket>(impl.io);
    }

    bool done = false;
    beast::error_code result;
    tcp::resolver::results_type endpoints;
    beast::error_code not_numeric;
    const net::ip::address literal = net::ip::make_address(parsed.host, not_numeric);
    if (!not_numeric) {
        // An IP address needs no lookup. Asio resolves on a thread of its own, which each
        // connection (with its own io_context) would start again: milliseconds on loopback.
        const auto port = static_cast<unsigned short>(std::stoul(parsed.port));
        endpoints = tcp::resolver::results_type::create(tcp::endpoint(literal, port), parsed.host, parsed.port);
    } else {
        tcp::resolver resolver(impl.io);
        resolver.async_resolve(parsed.host, parsed.port,
                               [&](const beast::error_code& error, tcp::resolver::results_type found) {
                                   result = error;
                                   endpoints = std::move(found);
                                   done = true;
                               });
        if (!impl.wait(done, deadline, cancel, "resolving " + parsed.host)) {
            throw Error(Status::internal, "A resolve wait ended without a result.");
        }
        if (result) impl.fail(result, "Resolving " + parsed.host);
    }

    done = false;
    impl.lowest().async_connect(endpoints, [&](const beast::error_code& error, const tcp::endpoint&) {
        result = error;
        done = true;
    });
    impl.wait(done, deadline, cancel, "connecting the WebSocket");
    if (result) impl.fail(result, "Connecting the WebSocket");
    beast::error_code ignored;
    impl.lowest().socket().set_option(tcp::no_delay(true), ignored);

    if (impl.secure) {
        done = false;
        impl.secure->next_layer().async_handshake(net::ssl::stream_base::client, [&](const beast::error_code& error) {
            result = error;
            done = true;
        });
        impl.wait(done, deadline, cancel, "the TLS handshake");
        if (result) impl.fail(result, "The TLS handshake");
    }

    const std::string user_agent = impl.options.user_agent;
    const std::size_t max_message = impl.options.max_message_bytes;
    http::response<http::string_body> response;
    done = false;
    impl.with_socket([&](auto& ws) {
        ws.read_message_max(max_message);
        ws.auto_fragment(false);
        ws.set_option(websocket::stream_base::decorator([bearer_token, user_agent](websocket::request_type& request) {
            request.set(http::field::user_agent, user_agent);
            if (!bearer_token.empty()) request.set(http::field::authorization, "Bearer " + bearer_token);
        }));
        ws.async_handshake(response, host_header, parsed.target, [&](const beast::error_code& error) {
            result = error;
            done = true;
        });
    });
    impl.wait(done, deadline, cancel, "the WebSocket upgrade");
    if (result == websocket::error::upgrade_declined) throw_upgrade_refused(response, host_header);
    if (result) impl.fail(result, "The WebSocket upgrade");
    SP_DEBUG("WebSocket open to {}{}", host_header, parsed.target);
}

void WsClient::send_text(std::string_view text, Deadline deadline, const CancelToken* cancel) {
    Impl& impl = *impl_;
    if (!impl.has_socket()) throw Error(Status::internal, "send_text called before connect.");
    bool done = false;
    beast::error_code result;
    impl.with_socket([&](auto& ws) {
        ws.text(true);
        ws.async_write(net::buffer(text.data(), text.size()), [&](const beast::error_code& error, std::size_t) {
            result = error;
            done = true;
        });
    });
    impl.wait(done, deadline, cancel, "sending the request");
    if (result) impl.fail(result, "Sending the request");
}

ReadResult WsClient::read(std::string& out, Millis idle_timeout, Deadline deadline, const CancelToken* cancel) {
    Impl& impl = *impl_;
    if (!impl.has_socket()) throw Error(Status::internal, "read called before connect.");
    out.clear();
    // Beast appends straight into `out`, so the message exists once, not in a buffer and a copy.
    auto buffer = net::dynamic_buffer(out, impl.options.max_message_bytes);
    bool done = false;
    beast::error_code result;
    impl.with_socket([&](auto& ws) {
        ws.async_read(buffer, [&](const beast::error_code& error, std::size_t) {
            result = error;
            done = true;
        });
    });
    if (!impl.wait(done, deadline, cancel, "waiting for a message", Clock::now() + idle_timeout)) {
        return ReadResult::silent;
    }
    if (result == websocket::error::closed) return ReadResult::closed;
    if (result == websocket::error::message_too_big || result == websocket::error::buffer_overflow) {
        impl.drop();
        constexpr std::size_t kMiB = 1024 * 1024;
        const std::size_t cap = impl.options.max_message_bytes;
        const std::string shown_cap =
            cap % kMiB == 0 ? std::to_string(cap / kMiB) + " MiB" : std::to_string(cap) + " bytes";
        throw Error(Status::too_large, "The worker at " + impl.host_label + " sent a WebSocket message larger than " +
                                           shown_cap + ", the limit for one message.");
    }
    if (is_cut(result)) {
        impl.drop();
        return ReadResult::cut;
    }
    if (result) impl.fail(result, "Reading from the WebSocket");
    return ReadResult::message;
}

void WsClient::close(Millis wait, const CancelToken* cancel) noexcept {
    Impl& impl = *impl_;
    if (!impl.has_socket() || !is_open()) {
        impl.drop();
        return;
    }
    try {
        bool done = false;
        impl.with_socket([&](auto& ws) {
            ws.async_close(websocket::close_code::normal, [&](const beast::error_code&) { done = true; });
        });
        impl.wait(done, Deadline::in(wait), cancel, "closing the WebSocket");
    } catch (const std::exception& error) {
        SP_DEBUG("Closing the WebSocket to {} did not complete: {}", impl.host_label, error.what());
    }
    impl.drop();
}

void WsClient::abort() noexcept { impl_->drop(); }

std::string websocket_url(const std::string& base_url, const std::string& route) {
    std::string base = base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.rfind("https://", 0) == 0) return "wss://" + base.substr(8) + "/API/" + route;
    if (base.rfind("http://", 0) == 0) return "ws://" + base.substr(7) + "/API/" + route;
    throw Error(Status::invalid_argument,
                "The worker's SwarmUI URL must start with http:// or https://, got '" + log::redact(base.substr(0, 80)) +
                    "'.");
}

}  // namespace swarmpod::swarm
