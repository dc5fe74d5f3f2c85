// WsClient against real loopback sockets: a listener that never answers, a closed
// port, a server that ends the connection without a Close frame, and bad URLs. The
// WebSocket exchange itself is covered by the live integration tests against
// swarmpod-emulator.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "swarm/ws_client.hpp"
#include "swarm/ws_preconnect.hpp"
#include "unit/ws_sending_server.hpp"

namespace {

using swarmpod::CancelToken;
using swarmpod::Deadline;
using swarmpod::Error;
using swarmpod::Millis;
using swarmpod::Status;
using swarmpod::swarm::ReadResult;
using swarmpod::swarm::websocket_url;
using swarmpod::swarm::WsClient;
using swarmpod::swarm::WsOptions;
using swarmpod::swarm::WsPreconnect;

// A loopback listener whose kernel accepts connections but never sends a byte, so a
// WebSocket upgrade waits forever.
class SilentListener {
public:
    SilentListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd_, 8) != 0) {
            throw std::runtime_error("cannot bind a loopback listener");
        }
        socklen_t length = sizeof address;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
    }
    ~SilentListener() { ::close(fd_); }
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

int closed_port() {
    SilentListener listener;
    return listener.port();  // closed when the listener goes out of scope
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(WsClient, UrlFromWorkerBase) {
    EXPECT_EQ(websocket_url("https://abc-7801.proxy.runpod.net/", "GenerateText2ImageWS"),
              "wss://abc-7801.proxy.runpod.net/API/GenerateText2ImageWS");
    EXPECT_EQ(websocket_url("http://127.0.0.1:8080", "GenerateText2ImageWS"),
              "ws://127.0.0.1:8080/API/GenerateText2ImageWS");
    EXPECT_THROW(websocket_url("ftp://host", "X"), Error);
}

TEST(WsClient, BadUrlRejectedBeforeConnecting) {
    WsClient client{WsOptions{}};
    for (const char* url :
         {"http://127.0.0.1/API/x", "ws:///API/x", "ws://host:99999999/x", "ws://127.0.0.1:70000/x"}) {
        try {
            client.connect(url, "", Deadline::in(Millis(1000)), nullptr);
            FAIL() << "expected an error for " << url;
        } catch (const Error& error) {
            EXPECT_EQ(error.status(), Status::invalid_argument) << url << ": " << error.what();
        }
    }
}

TEST(WsClient, RefusedConnectionIsNetworkError) {
    WsClient client{WsOptions{}};
    const std::string url = "ws://127.0.0.1:" + std::to_string(closed_port()) + "/API/GenerateText2ImageWS";
    try {
        client.connect(url, "", Deadline::in(Millis(5000)), nullptr);
        FAIL() << "expected an error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::network) << error.what();
        EXPECT_NE(std::string(error.what()).find("127.0.0.1"), std::string::npos) << error.what();
    }
}

TEST(WsClient, CancelWakesUpgradeWait) {
    SilentListener listener;
    CancelToken cancel;
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cancel.cancel();
    });
    WsClient client{WsOptions{}};
    const auto start = std::chrono::steady_clock::now();
    try {
        client.connect("ws://127.0.0.1:" + std::to_string(listener.port()) + "/API/GenerateText2ImageWS", "",
                       Deadline::in(Millis(10000)), &cancel);
        FAIL() << "expected a cancel";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::cancelled) << error.what();
    }
    canceller.join();
    EXPECT_LT(seconds_since(start), 0.6);
    EXPECT_FALSE(client.is_open());
}

TEST(WsClient, ConnectionEndWithoutCloseFrameIsCut) {
    swarmpod::testing::SendingServer server({"{\"keep_alive\":true}"}, swarmpod::testing::SendingServer::End::cut);
    WsClient client{WsOptions{}};
    client.connect(server.url(), "", Deadline::in(Millis(10000)), nullptr);
    client.send_text("{}", Deadline::in(Millis(10000)), nullptr);
    std::string text;

    const ReadResult first = client.read(text, Millis(10000), Deadline::in(Millis(20000)), nullptr);
    const ReadResult second = client.read(text, Millis(10000), Deadline::in(Millis(20000)), nullptr);

    EXPECT_EQ(first, ReadResult::message);
    EXPECT_EQ(second, ReadResult::cut);
    EXPECT_FALSE(client.is_open());
}

TEST(WsClient, CloseFrameIsClosedNotCut) {
    swarmpod::testing::SendingServer server({});
    WsClient client{WsOptions{}};
    client.connect(server.url(), "", Deadline::in(Millis(10000)), nullptr);
    client.send_text("{}", Deadline::in(Millis(10000)), nullptr);
    std::string text;

    EXPECT_EQ(client.read(text, Millis(10000), Deadline::in(Millis(20000)), nullptr), ReadResult::closed);
}

TEST(WsClient, DeadlineEndsUpgradeWait) {
    SilentListener listener;
    WsClient client{WsOptions{}};
    const auto start = std::chrono::steady_clock::now();
    try {
        client.connect("ws://127.0.0.1:" + std::to_string(listener.port()) + "/x", "", Deadline::in(Millis(300)),
                       nullptr);
        FAIL() << "expected a timeout";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::timeout) << error.what();
    }
    EXPECT_LT(seconds_since(start), 1.0);
}

TEST(WsClient, TlsHandshakeWithPlainServerFails) {
    SilentListener listener;
    WsClient client{WsOptions{}};
    try {
        client.connect("wss://127.0.0.1:" + std::to_string(listener.port()) + "/x", "", Deadline::in(Millis(300)),
                       nullptr);
        FAIL() << "expected an error";
    } catch (const Error& error) {
        // The silent listener never answers the ClientHello, so the wait times out.
        EXPECT_EQ(error.status(), Status::timeout) << error.what();
        EXPECT_NE(std::string(error.what()).find("TLS"), std::string::npos) << error.what();
    }
}

TEST(WsClient, MissingCaBundleIsTlsError) {
    WsOptions options;
    options.ca_bundle = "/nonexistent/ca.pem";
    WsClient client{options};
    try {
        client.connect("wss://127.0.0.1:1/x", "", Deadline::in(Millis(300)), nullptr);
        FAIL() << "expected an error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::tls) << error.what();
        EXPECT_NE(std::string(error.what()).find("/nonexistent/ca.pem"), std::string::npos) << error.what();
    }
}

// Polls `spare` until it gives out a socket or `within` passed.
std::unique_ptr<WsClient> take_within(WsPreconnect& spare, Millis max_age, Millis within) {
    const auto until = std::chrono::steady_clock::now() + within;
    for (;;) {
        std::unique_ptr<WsClient> socket = spare.take(max_age);
        if (socket || std::chrono::steady_clock::now() >= until) return socket;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

TEST(WsPreconnect, OpenedSocketCarriesARequest) {
    swarmpod::testing::SendingServer server({"{\"keep_alive\":true}"});
    const auto spare = WsPreconnect::start(server.url(), "", WsOptions{}, Millis(10000));

    std::unique_ptr<WsClient> socket = take_within(*spare, Millis(60000), Millis(10000));

    ASSERT_NE(socket, nullptr);
    EXPECT_TRUE(socket->is_open());
    EXPECT_EQ(spare->take(Millis(60000)), nullptr) << "a socket is given out once";
    socket->send_text("{}", Deadline::in(Millis(10000)), nullptr);
    std::string text;
    EXPECT_EQ(socket->read(text, Millis(10000), Deadline::in(Millis(20000)), nullptr), ReadResult::message);
    EXPECT_EQ(text, "{\"keep_alive\":true}");
}

TEST(WsPreconnect, OldSocketIsNotGivenOut) {
    swarmpod::testing::SendingServer server({});
    const auto spare = WsPreconnect::start(server.url(), "", WsOptions{}, Millis(10000));
    // A loopback connect takes milliseconds; after a second the socket is over 10 ms old.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));

    EXPECT_EQ(spare->take(Millis(10)), nullptr);
    EXPECT_NE(spare->take(Millis(60000)), nullptr) << "a socket refused as too old for one caller stays";
}

TEST(WsPreconnect, RefusedConnectGivesNothing) {
    const auto spare = WsPreconnect::start("ws://127.0.0.1:" + std::to_string(closed_port()) + "/x", "", WsOptions{},
                                           Millis(5000));

    EXPECT_EQ(take_within(*spare, Millis(60000), Millis(1000)), nullptr);
}

TEST(WsPreconnect, FreeDuringConnectReturnsQuickly) {
    SilentListener listener;
    auto spare = WsPreconnect::start("ws://127.0.0.1:" + std::to_string(listener.port()) + "/x", "", WsOptions{},
                                     Millis(30000));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto start = std::chrono::steady_clock::now();

    spare.reset();

    EXPECT_LT(seconds_since(start), 1.0);
}

}  // namespace
