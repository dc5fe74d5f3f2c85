// A small threaded HTTP/1.1 server on Boost.Beast: one thread per connection, synchronous I/O.
// Both the RunPod API and each worker's SwarmUI run on it.
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
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

namespace emulator {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// A TLS connection; it owns its TCP socket.
using TlsStream = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;

// One request and what the handler decides to do with it.
struct Exchange {
    Exchange(HttpRequest request_in, boost::asio::ip::tcp::socket& socket_in)
        : request(std::move(request_in)), socket(socket_in)
    {
    }

    HttpRequest request;
    std::string path;  // target without the query
    std::string query; // text after '?', undecoded
    bool chunked = false;
    std::optional<std::uint64_t> content_length;
    std::string remote_address;
    // The connection, for a handler that takes it over (a WebSocket upgrade). On a TLS server
    // `tls` is the stream to read and write, and `socket` is its TCP layer.
    boost::asio::ip::tcp::socket& socket;
    TlsStream* tls = nullptr;

    enum class After {
        reply, // write `response`, keep the connection if both sides agree
        reset, // drop the connection with a TCP reset and no reply
        taken, // the handler used the socket itself; close it afterwards
    };
    After after = After::reply;
    HttpResponse response;
    // Runs after `response` is written, e.g. to stop the server once the reply is out.
    std::function<void()> after_write;
    // Set by the handler before it takes the socket, so close_upgraded() can end the connection.
    std::shared_ptr<std::atomic<bool>> upgraded;
};

class HttpServer {
public:
    using Handler = std::function<void(Exchange&)>;

    HttpServer(std::string name, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Serves HTTPS with `context` instead of plain HTTP; `on_handshake_failure` runs on the
    // connection's thread for each client whose TLS handshake fails. Call before listen().
    void use_tls(std::shared_ptr<boost::asio::ssl::context> context, std::function<void()> on_handshake_failure);
    // Binds host:port (port 0 = any free port) and starts accepting; returns the bound port.
    // Throws boost::system::system_error when the address cannot be bound.
    std::uint16_t listen(const std::string& host, std::uint16_t port);
    // Closes the port and every open connection and joins all threads. Idempotent.
    void stop();
    // Ends every connection a handler took over as upgraded (WebSockets).
    void close_upgraded();

private:
    struct Connection {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
        int native_handle = -1;
        std::shared_ptr<std::atomic<bool>> upgraded;
    };

    void accept_next();
    void serve(boost::asio::ip::tcp::socket socket, std::shared_ptr<std::atomic<bool>> done,
               std::shared_ptr<std::atomic<bool>> upgraded);
    // Reads requests from `stream` and writes the replies until the connection ends. Returns
    // true when the handler asked for a TCP reset.
    template <class Stream>
    bool serve_requests(Stream& stream, boost::asio::ip::tcp::socket& socket, TlsStream* tls,
                        const std::shared_ptr<std::atomic<bool>>& upgraded);
    void reap_finished();

    const std::string name_;
    const Handler handler_;
    std::shared_ptr<boost::asio::ssl::context> tls_context_;
    std::function<void()> on_handshake_failure_;
    boost::asio::io_context io_context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread accept_thread_;
    std::atomic<bool> stopped_{false};

    std::mutex mutex_;
    std::list<Connection> connections_;
};

HttpResponse make_response(const HttpRequest& request, unsigned status, std::string body, const std::string& content_type);
HttpResponse json_response(const HttpRequest& request, unsigned status, const nlohmann::json& body);
// Returns a TLS server context with the PEM certificate chain and private key in the two files.
// Throws std::runtime_error naming the file that could not be used.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& certificate_file,
                                                                   const std::string& key_file);
// Returns the percent-decoded value of `name` in a query string, or nullopt.
std::optional<std::string> query_value(const std::string& query, const std::string& name);
std::string percent_decode(std::string_view text);

} // namespace emulator
