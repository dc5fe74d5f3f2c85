#include "http_server.hpp"

#include <sys/socket.h>

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core.hpp>
#include <spdlog/spdlog.h>

namespace emulator {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The largest body either side accepts: SwarmUI's default Network.MaxNetworkRequestMegabytes (200 MB).
constexpr std::uint64_t max_body_bytes = 200ULL * 1024 * 1024;

} // namespace

HttpServer::HttpServer(std::string name, Handler handler)
    : name_(std::move(name)), handler_(std::move(handler)), acceptor_(io_context_)
{
}

HttpServer::~HttpServer()
{
    stop();
}

void HttpServer::use_tls(std::shared_ptr<asio::ssl::context> context, std::function<void()> on_handshake_failure)
{
    tls_context_ = std::move(context);
    on_handshake_failure_ = std::move(on_handshake_failure);
}

std::uint16_t HttpServer::listen(const std::string& host, std::uint16_t port)
{
    tcp::endpoint endpoint{asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host), port};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    accept_next();
    accept_thread_ = std::thread([this] { io_context_.run(); });
    return acceptor_.local_endpoint().port();
}

void HttpServer::stop()
{
    if (stopped_.exchange(true)) {
        return;
    }
    io_context_.stop();
    if (accept_thread_.joinable()) {
        accept_thread_.join();
    }
    beast::error_code ignored;
    acceptor_.close(ignored);

    std::list<Connection> connections;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connections.swap(connections_);
        // shutdown(2) on the raw descriptor unblocks a thread blocked in a synchronous read, which Asio's
        // close() may not do safely from another thread. Connections close their socket under this mutex,
        // so no descriptor number here can belong to a newer socket.
        for (auto& connection : connections) {
            if (!*connection.done) {
                ::shutdown(connection.native_handle, SHUT_RDWR);
            }
        }
    }
    for (auto& connection : connections) {
        connection.thread.join();
    }
}

void HttpServer::close_upgraded()
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& connection : connections_) {
        if (*connection.upgraded && !*connection.done) {
            ::shutdown(connection.native_handle, SHUT_RDWR);
        }
    }
}

void HttpServer::accept_next()
{
    acceptor_.async_accept([this](beast::error_code error, tcp::socket socket) {
        if (error) {
            if (error != asio::error::operation_aborted) {
                spdlog::warn("{}: accept failed: {}", name_, error.message());
            }
            return;
        }
        reap_finished();
        // SwarmUI's server (ASP.NET Core Kestrel) turns Nagle's algorithm off by default. With it
        // on, the second of two small WebSocket messages waits for the client's delayed ACK (about
        // 40 ms on Linux).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto done = std::make_shared<std::atomic<bool>>(false);
        auto upgraded = std::make_shared<std::atomic<bool>>(false);
        int handle = socket.native_handle();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            connections_.push_back(Connection{std::thread(), done, handle, upgraded});
            connections_.back().thread = std::thread(
                [this, done, upgraded](tcp::socket connected) { serve(std::move(connected), done, upgraded); },
                std::move(socket));
        }
        accept_next();
    });
}

void HttpServer::reap_finished()
{
    std::list<Connection> finished;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            auto next = std::next(it);
            if (*it->done) {
                finished.splice(finished.end(), connections_, it);
            }
            it = next;
        }
    }
    for (auto& connection : finished) {
        connection.thread.join();
    }
}

void HttpServer::serve(tcp::socket socket, std::shared_ptr<std::atomic<bool>> done,
                       std::shared_ptr<std::atomic<bool>> upgraded)
{
    bool reset = false;
    std::optional<TlsStream> tls;
    tcp::socket* tcp_layer = &socket;
    if (tls_context_) {
        // The stream takes over the socket; its descriptor, which stop() shuts down, stays the same.
        tls.emplace(std::move(socket), *tls_context_);
        tcp_layer = &tls->next_layer();
        beast::error_code error;
        tls->handshake(asio::ssl::stream_base::server, error);
        if (error) {
            spdlog::info("{}: TLS handshake failed: {}", name_, error.message());
            if (on_handshake_failure_) {
                on_handshake_failure_();
            }
        } else {
            reset = serve_requests(*tls, *tcp_layer, &*tls, upgraded);
        }
    } else {
        reset = serve_requests(socket, socket, nullptr, upgraded);
    }

    std::lock_guard<std::mutex> lock(mutex_);
    beast::error_code ignored;
    if (reset) {
        // A zero linger time makes close() send a TCP reset instead of a clean FIN.
        tcp_layer->set_option(asio::socket_base::linger(true, 0), ignored);
    } else {
        tcp_layer->shutdown(tcp::socket::shutdown_both, ignored);
    }
    tcp_layer->close(ignored);
    *done = true;
}

template <class Stream>
bool HttpServer::serve_requests(Stream& stream, tcp::socket& socket, TlsStream* tls,
                                const std::shared_ptr<std::atomic<bool>>& upgraded)
{
    beast::flat_buffer buffer;
    beast::error_code error;
    bool reset = false;
    std::string remote;
    {
        beast::error_code ignored;
        auto endpoint = socket.remote_endpoint(ignored);
        remote = ignored ? std::string() : endpoint.address().to_string();
    }
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_body_bytes);
        http::read(stream, buffer, parser, error);
        if (error) {
            const bool connection_ended = error == http::error::end_of_stream || error == asio::error::eof ||
                                          error == asio::error::connection_reset || error == asio::error::shut_down ||
                                          error == asio::error::bad_descriptor ||
                                          error == asio::error::operation_aborted ||
                                          error == asio::ssl::error::stream_truncated ||
                                          error.category() == asio::error::get_ssl_category();
            if (error == http::error::body_limit) {
                HttpRequest empty;
                http::write(stream, json_response(empty, 413, {{"error", "Request body is too large."}}), error);
            } else if (!connection_ended) {
                HttpRequest empty;
                http::write(stream, json_response(empty, 400, {{"error", "Malformed HTTP request."}}), error);
            }
            break;
        }

        Exchange exchange(parser.release(), socket);
        exchange.tls = tls;
        exchange.chunked = parser.chunked();
        exchange.remote_address = remote;
        exchange.upgraded = upgraded;
        if (auto length = parser.content_length()) {
            exchange.content_length = *length;
        }
        const std::string target(exchange.request.target());
        auto question = target.find('?');
        exchange.path = target.substr(0, question);
        exchange.query = question == std::string::npos ? std::string() : target.substr(question + 1);
        exchange.response = json_response(exchange.request, 500, {{"error", "No reply was set."}});

        try {
            handler_(exchange);
        } catch (const std::exception& caught) {
            spdlog::error("{}: {} {} failed: {}", name_, std::string(exchange.request.method_string()), exchange.path,
                          caught.what());
            exchange.after = Exchange::After::reply;
            exchange.response = json_response(exchange.request, 500,
                                              {{"error", std::string("Internal error in the emulator: ") + caught.what()}});
        }
        if (exchange.after == Exchange::After::taken) {
            break;
        }
        if (exchange.after == Exchange::After::reset) {
            reset = true;
            break;
        }
        http::write(stream, exchange.response, error);
        if (exchange.after_write) {
            exchange.after_write();
        }
        if (error || !exchange.response.keep_alive()) {
            break;
        }
    }
    return reset;
}

HttpResponse make_response(const HttpRequest& request, unsigned status, std::string body, const std::string& content_type)
{
    HttpResponse response{static_cast<http::status>(status), request.version() == 0 ? 11u : request.version()};
    response.set(http::field::server, "swarmpod-emulator");
    response.set(http::field::content_type, content_type);
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.version() == 0 || request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

HttpResponse json_response(const HttpRequest& request, unsigned status, const nlohmann::json& body)
{
    return make_response(request, status, body.dump(), "application/json; charset=utf-8");
}

std::shared_ptr<asio::ssl::context> make_server_tls_context(const std::string& certificate_file,
                                                            const std::string& key_file)
{
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    beast::error_code error;
    context->use_certificate_chain_file(certificate_file, error);
    if (error) {
        throw std::runtime_error("cannot use the TLS certificate file " + certificate_file + ": " + error.message());
    }
    context->use_private_key_file(key_file, asio::ssl::context::pem, error);
    if (error) {
        throw std::runtime_error("cannot use the TLS key file " + key_file + ": " + error.message());
    }
    return context;
}

std::string percent_decode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::optional<std::string> query_value(const std::string& query, const std::string& name)
{
    std::size_t at = 0;
    while (at <= query.size()) {
        std::size_t end = query.find('&', at);
        std::string part = query.substr(at, end == std::string::npos ? std::string::npos : end - at);
        std::replace(part.begin(), part.end(), '+', ' ');
        auto equals = part.find('=');
        if (percent_decode(part.substr(0, equals)) == name) {
            return equals == std::string::npos ? std::string() : percent_decode(part.substr(equals + 1));
        }
        if (end == std::string::npos) {
            break;
        }
        at = end + 1;
    }
    return std::nullopt;
}

} // namespace emulator
