// WsClient over wss:// against a Boost.Beast TLS WebSocket server on loopback, with a
// self-signed certificate for 127.0.0.1 made with the openssl tool at test time. The
// certificate is trusted only when CaBundle names it, and the host name is checked even then.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "swarm/ws_client.hpp"

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using swarmpod::Deadline;
using swarmpod::Error;
using swarmpod::Millis;
using swarmpod::Status;
using swarmpod::swarm::ReadResult;
using swarmpod::swarm::WsClient;
using swarmpod::swarm::WsOptions;

constexpr const char* kReply = R"({"keep_alive":true})";

// Serves one TLS connection: the handshake, the WebSocket upgrade, one request frame
// answered with kReply, then a Close frame. Counts what the client got through.
class TlsWebSocketServer {
public:
    TlsWebSocketServer(const std::string& certificate, const std::string& key)
        : context_(ssl::context::tls_server), acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
        context_.use_certificate_chain_file(certificate);
        context_.use_private_key_file(key, ssl::context::pem);
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { serve(); });
    }
    ~TlsWebSocketServer() {
        // A connection of our own wakes an accept that still waits, so the acceptor is never
        // closed under the server thread.
        if (!accepted_) {
            net::io_context io;
            tcp::socket wake(io);
            boost::system::error_code ignored;
            wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
        }
        if (thread_.joinable()) thread_.join();
    }
    std::string url(const std::string& host) const {
        return "wss://" + host + ":" + std::to_string(port_) + "/API/GenerateText2ImageWS";
    }
    // Waits until the one connection was served or failed.
    void wait_until_served() {
        if (thread_.joinable()) thread_.join();
    }
    int handshake_failures() const { return handshake_failures_.load(); }
    int upgrades() const { return upgrades_.load(); }

private:
    void serve() {
        boost::system::error_code error;
        tcp::socket socket(io_);
        acceptor_.accept(socket, error);
        accepted_ = true;
        if (error) return;
        websocket::stream<boost::beast::ssl_stream<tcp::socket>> ws(std::move(socket), context_);
        ws.next_layer().handshake(ssl::stream_base::server, error);
        if (error) {
            ++handshake_failures_;
            return;
        }
        ws.accept(error);
        if (error) return;
        ++upgrades_;
        boost::beast::flat_buffer request;
        ws.read(request, error);
        if (error) return;
        ws.text(true);
        ws.write(net::buffer(std::string(kReply)), error);
        ws.close(websocket::close_code::normal, error);
    }

    net::io_context io_;
    ssl::context context_;
    tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::atomic<bool> accepted_{false};
    std::atomic<int> handshake_failures_{0};
    std::atomic<int> upgrades_{0};
    std::thread thread_;
};

class WssClient : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (std::system("command -v openssl >/dev/null 2>&1") != 0) return;
        directory_ = ::testing::TempDir() + "swarmpod-wss-client-" + std::to_string(::getpid());
        std::filesystem::create_directories(directory_);
        const std::string command =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
            " -addext subjectAltName=IP:127.0.0.1 -keyout " +
            key() + " -out " + certificate() + " >/dev/null 2>&1";
        ready_ = std::system(command.c_str()) == 0;
    }
    static void TearDownTestSuite() {
        std::error_code ignored;
        if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
    }
    void SetUp() override {
        if (!ready_) GTEST_SKIP() << "the openssl tool is missing or failed, so no test certificate could be made";
    }

    static std::string certificate() { return directory_ + "/cert.pem"; }
    static std::string key() { return directory_ + "/key.pem"; }

    static inline std::string directory_;
    static inline bool ready_ = false;
};

TEST_F(WssClient, CaBundleMakesExchangeWork) {
    TlsWebSocketServer server(certificate(), key());
    WsOptions options;
    options.ca_bundle = certificate();
    WsClient client{options};

    client.connect(server.url("127.0.0.1"), "token-123456", Deadline::in(Millis(10000)), nullptr);
    client.send_text("{}", Deadline::in(Millis(10000)), nullptr);
    std::string text;
    const ReadResult first = client.read(text, Millis(10000), Deadline::in(Millis(10000)), nullptr);
    const std::string reply = text;
    const ReadResult second = client.read(text, Millis(10000), Deadline::in(Millis(10000)), nullptr);

    EXPECT_EQ(first, ReadResult::message);
    EXPECT_EQ(reply, kReply);
    EXPECT_EQ(second, ReadResult::closed);
    EXPECT_EQ(server.upgrades(), 1);
}

TEST_F(WssClient, UntrustedCertificateIsTlsError) {
    TlsWebSocketServer server(certificate(), key());
    WsClient client{WsOptions{}};

    try {
        client.connect(server.url("127.0.0.1"), "token-123456", Deadline::in(Millis(10000)), nullptr);
        FAIL() << "the client connected to a server whose certificate it does not trust";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::tls) << error.what();
        EXPECT_NE(std::string(error.what()).find("CaBundle"), std::string::npos) << error.what();
    }
    client.abort();
    server.wait_until_served();

    EXPECT_EQ(server.handshake_failures(), 1);
    EXPECT_EQ(server.upgrades(), 0) << "the upgrade request reached a server the client does not trust";
}

TEST_F(WssClient, CaBundleStillChecksHostName) {
    TlsWebSocketServer server(certificate(), key());
    WsOptions options;
    options.ca_bundle = certificate();
    WsClient client{options};

    // "localhost" reaches the same server, but the certificate names only 127.0.0.1.
    try {
        client.connect(server.url("localhost"), "token-123456", Deadline::in(Millis(10000)), nullptr);
        FAIL() << "the client accepted a certificate that does not name the host";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::tls) << error.what();
    }
    client.abort();
    server.wait_until_served();

    EXPECT_EQ(server.upgrades(), 0);
}

}  // namespace
