// A one-connection Boost.Beast WebSocket server on loopback for WsClient tests: it accepts
// one WebSocket, reads the request frame, sends `messages`, then ends the connection with a
// Close frame or, with End::cut, by closing the TCP socket without one.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace swarmpod::testing {

class SendingServer {
public:
    enum class End { close_frame, cut };

    explicit SendingServer(std::vector<std::string> messages, End end = End::close_frame)
        : messages_(std::move(messages)),
          end_(end),
          acceptor_(io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { serve(); });
    }
    ~SendingServer() {
        // A connection of our own wakes an accept that still waits, so the acceptor is never
        // closed under the server thread.
        if (!accepted_) {
            boost::asio::io_context io;
            boost::asio::ip::tcp::socket wake(io);
            boost::system::error_code ignored;
            wake.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ignored);
        }
        if (thread_.joinable()) thread_.join();
    }
    SendingServer(const SendingServer&) = delete;
    SendingServer& operator=(const SendingServer&) = delete;

    std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/API/GenerateText2ImageWS"; }

private:
    void serve() {
        namespace websocket = boost::beast::websocket;
        boost::system::error_code error;
        boost::asio::ip::tcp::socket socket(io_);
        acceptor_.accept(socket, error);
        accepted_ = true;
        if (error) return;
        websocket::stream<boost::asio::ip::tcp::socket> ws(std::move(socket));
        ws.auto_fragment(false);
        ws.accept(error);
        if (error) return;
        boost::beast::flat_buffer request;
        ws.read(request, error);
        for (const std::string& message : messages_) {
            if (error) return;
            ws.text(true);
            ws.write(boost::asio::buffer(message), error);
        }
        if (end_ == End::cut) {
            ws.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
            ws.next_layer().close(error);
            return;
        }
        ws.close(websocket::close_code::normal, error);
    }

    std::vector<std::string> messages_;
    End end_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::atomic<bool> accepted_{false};
    std::thread thread_;
};

}  // namespace swarmpod::testing
