// http::Client against real cpp-httplib servers on 127.0.0.1.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "log/log.hpp"
#include "loopback_server.hpp"
#include "swarmpod/swarmpod.h"

namespace swarmpod::http {
namespace {

using namespace std::chrono_literals;
using test::LoopbackServer;

// Blocks a handler until the test releases it or `limit` passes, so the server can
// always stop.
void hold(const std::atomic<bool>& released, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!released.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
}

TEST(HttpClient, GetRoundTripWithHeaders) {
    LoopbackServer server;
    std::string seen_custom;
    std::string seen_accept_encoding;
    server.server().Get("/hello", [&](const httplib::Request& request, httplib::Response& response) {
        seen_custom = request.get_header_value("X-Custom");
        seen_accept_encoding = request.get_header_value("Accept-Encoding");
        response.set_header("X-Reply-Header", "Value-1");
        response.set_content("{\"hello\":true}", "application/json");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/hello";
    request.headers = {{"X-Custom", "abc 123"}};
    const Response response = client.perform(request);

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "{\"hello\":true}");
    EXPECT_EQ(response.header("x-reply-header").value_or(""), "Value-1");
    EXPECT_EQ(response.header("content-type").value_or(""), "application/json");
    EXPECT_FALSE(response.header("X-Reply-Header").has_value()) << "lookups use lower-case names";
    EXPECT_EQ(seen_custom, "abc 123");
    EXPECT_NE(seen_accept_encoding.find("gzip"), std::string::npos) << seen_accept_encoding;
}

TEST(HttpClient, PostSendsExactBodyAndJsonType) {
    LoopbackServer server;
    std::string seen_body, seen_length, seen_type, seen_expect;
    server.server().Post("/submit", [&](const httplib::Request& request, httplib::Response& response) {
        seen_body = request.body;
        seen_length = request.get_header_value("Content-Length");
        seen_type = request.get_header_value("Content-Type");
        seen_expect = request.get_header_value("Expect");
        response.status = 201;
        response.set_content("created", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.method = "POST";
    request.url = server.url() + "/submit";
    // Large enough that curl would normally send "Expect: 100-continue".
    request.body = "{\"input\":\"" + std::string(200000, 'x') + "\"}";
    const Response response = client.perform(request);

    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, "created");
    EXPECT_EQ(seen_body, request.body);
    EXPECT_EQ(seen_length, std::to_string(request.body.size()));
    EXPECT_EQ(seen_type, "application/json");
    EXPECT_EQ(seen_expect, "");
}

TEST(HttpClient, PostKeepsCallerContentType) {
    LoopbackServer server;
    std::string seen_type;
    server.server().Post("/text", [&](const httplib::Request& request, httplib::Response& response) {
        seen_type = request.get_header_value("Content-Type");
        response.set_content("ok", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.method = "POST";
    request.url = server.url() + "/text";
    request.headers = {{"content-type", "text/plain"}};
    request.body = "plain";
    client.perform(request);

    EXPECT_EQ(seen_type, "text/plain");
}

TEST(HttpClient, ErrorStatusIsAResponse) {
    LoopbackServer server;
    server.server().Get("/missing", [](const httplib::Request&, httplib::Response& response) {
        response.status = 404;
        response.set_content("nope", "text/plain");
    });
    server.server().Get("/moved", [](const httplib::Request&, httplib::Response& response) {
        response.set_redirect("/missing");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/missing";
    EXPECT_EQ(client.perform(request).status, 404);

    request.url = server.url() + "/moved";
    const Response moved = client.perform(request);
    EXPECT_EQ(moved.status, 302) << "redirects are not followed";
    EXPECT_EQ(moved.header("location").value_or(""), "/missing");
}

TEST(HttpClient, ResponseOverLimitIsTooLarge) {
    LoopbackServer server;
    server.server().Get("/big", [](const httplib::Request&, httplib::Response& response) {
        response.set_content(std::string(64 * 1024, 'a'), "application/octet-stream");
    });
    server.server().Get("/fits", [](const httplib::Request&, httplib::Response& response) {
        response.set_content(std::string(1024, 'a'), "application/octet-stream");
    });
    server.start();

    ClientOptions options;
    options.max_response_bytes = 1024;
    Client client(options);
    Request request;
    request.url = server.url() + "/fits";
    EXPECT_EQ(client.perform(request).body.size(), 1024u);

    request.url = server.url() + "/big";
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::too_large);
        EXPECT_NE(std::string(error.what()).find("1024"), std::string::npos) << error.what();
    }
}

TEST(HttpClient, SlowServerTimesOut) {
    LoopbackServer server;
    std::atomic<bool> released{false};
    server.server().Get("/slow", [&](const httplib::Request&, httplib::Response& response) {
        hold(released, 3s);
        response.set_content("late", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/slow";
    request.timeout = 200ms;
    const auto started = std::chrono::steady_clock::now();
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::timeout);
        EXPECT_FALSE(error.failure().certainly_not_sent);
        EXPECT_NE(std::string(error.what()).find("timed out"), std::string::npos) << error.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
    released = true;
}

TEST(HttpClient, CancelFromAnotherThreadAbortsQuickly) {
    LoopbackServer server;
    std::atomic<bool> released{false};
    server.server().Get("/hang", [&](const httplib::Request&, httplib::Response& response) {
        hold(released, 5s);
        response.set_content("late", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    CancelToken cancel;
    std::chrono::steady_clock::time_point cancelled_at;
    std::thread canceller([&] {
        std::this_thread::sleep_for(300ms);
        cancelled_at = std::chrono::steady_clock::now();
        cancel.cancel();
    });

    Request request;
    request.url = server.url() + "/hang";
    try {
        client.perform(request, &cancel);
        ADD_FAILURE() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::cancelled);
    }
    const auto finished_at = std::chrono::steady_clock::now();
    canceller.join();
    EXPECT_LT(finished_at - cancelled_at, 500ms);
    released = true;
}

TEST(HttpClient, AlreadyCancelledTokenSendsNothing) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    server.server().Get("/count", [&](const httplib::Request&, httplib::Response& response) {
        ++hits;
        response.set_content("ok", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    CancelToken cancel;
    cancel.cancel();
    Request request;
    request.url = server.url() + "/count";
    try {
        client.perform(request, &cancel);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::cancelled);
    }
    EXPECT_EQ(hits.load(), 0);
}

TEST(HttpClient, ConnectionRefusedIsCertainlyNotSent) {
    const int port = test::closed_loopback_port();
    Client client(ClientOptions{});
    Request request;
    request.method = "POST";
    request.url = "http://127.0.0.1:" + std::to_string(port) + "/run?secret=querytext";
    request.body = "{}";
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        const std::string message = error.what();
        EXPECT_EQ(error.status(), Status::network);
        EXPECT_TRUE(error.failure().certainly_not_sent);
        EXPECT_NE(message.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
        EXPECT_NE(message.find("refused"), std::string::npos) << message;
        EXPECT_EQ(message.find("querytext"), std::string::npos) << message;
    }
}

TEST(HttpClient, UnresolvableHostIsCertainlyNotSent) {
    Client client(ClientOptions{});
    Request request;
    request.url = "http://swarmpod-test.invalid/health";
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::network);
        EXPECT_TRUE(error.failure().certainly_not_sent);
        EXPECT_NE(std::string(error.what()).find("swarmpod-test.invalid"), std::string::npos) << error.what();
    }
}

TEST(HttpClient, RejectsBadRequests) {
    Client client(ClientOptions{});
    Request request;
    request.url = "http://127.0.0.1:1/";

    request.method = "DELETE";
    try {
        client.perform(request);
        FAIL() << "expected Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::invalid_argument);
        EXPECT_NE(std::string(error.what()).find("DELETE"), std::string::npos) << error.what();
    }

    request.method = "GET";
    request.headers = {{"Authorization", "Bearer abc\r\nX-Injected: 1"}};
    try {
        client.perform(request);
        FAIL() << "expected Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::invalid_argument);
        EXPECT_EQ(std::string(error.what()).find("abc"), std::string::npos) << "header values stay out of messages";
    }

    request.headers.clear();
    request.timeout = Millis(0);
    EXPECT_THROW(client.perform(request), Error);
}

TEST(HttpClient, CompressedReplyIsDecoded) {
    LoopbackServer server;
    nlohmann::json document = nlohmann::json::array();
    for (int i = 0; i < 2000; ++i) document.push_back({{"index", i}, {"name", "image"}});
    const std::string text = document.dump();
    server.server().Get("/large.json", [&](const httplib::Request&, httplib::Response& response) {
        response.set_content(text, "application/json");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/large.json";
    const Response response = client.perform(request);
    // cpp-httplib picks brotli or gzip from the encodings this libcurl offers.
    const std::string encoding = response.header("content-encoding").value_or("");
    EXPECT_TRUE(encoding == "gzip" || encoding == "br") << encoding;
    EXPECT_LT(std::stoul(response.header("content-length").value_or("0")), text.size());
    EXPECT_EQ(response.body, text);
}

// A self-signed certificate for IP 127.0.0.1 only, made once with the openssl tool.
// https:// to a port that replies in plain HTTP: the error states that the server does not
// speak TLS, not that a CA certificate is missing.
TEST(HttpClient, HttpsToPlainServerNamesThePort) {
    LoopbackServer server;
    server.server().Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("plain", "text/plain");
    });
    server.start();
    std::string url = server.url() + "/";
    url.replace(0, 4, "https");

    Client client(ClientOptions{});
    Request request;
    request.url = url;
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::tls);
        EXPECT_NE(std::string(error.what()).find("does not speak TLS"), std::string::npos) << error.what();
        EXPECT_EQ(std::string(error.what()).find("CaBundle"), std::string::npos) << error.what();
    }
}

class HttpClientTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        char pattern[] = "/tmp/swarmpod-tls-XXXXXX";
        const char* dir = mkdtemp(pattern);
        if (dir == nullptr) return;
        directory_ = dir;
        const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
                                    " -addext subjectAltName=IP:127.0.0.1 -keyout " +
                                    directory_ + "/key.pem -out " + directory_ + "/cert.pem >/dev/null 2>&1";
        ready_ = std::system(command.c_str()) == 0;
    }
    static void TearDownTestSuite() {
        if (!directory_.empty()) std::filesystem::remove_all(directory_);
    }
    void SetUp() override {
        if (!ready_) GTEST_SKIP() << "the openssl tool could not make a test certificate";
    }

    static std::string cert() { return directory_ + "/cert.pem"; }
    static std::string key() { return directory_ + "/key.pem"; }

    static inline std::string directory_;
    static inline bool ready_ = false;
};

TEST_F(HttpClientTls, UntrustedCertificateIsTlsError) {
    LoopbackServer server(cert(), key());
    server.server().Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("secret", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/";
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::tls);
        EXPECT_NE(std::string(error.what()).find("CaBundle"), std::string::npos) << error.what();
    }
}

TEST_F(HttpClientTls, CaBundleMakesCertificateTrusted) {
    LoopbackServer server(cert(), key());
    server.server().Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("trusted", "text/plain");
    });
    server.start();

    ClientOptions options;
    options.ca_bundle = cert();
    Client client(options);
    Request request;
    request.url = server.url() + "/";
    const Response response = client.perform(request);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "trusted");
}

TEST_F(HttpClientTls, HostNameMismatchIsTlsError) {
    LoopbackServer server(cert(), key());
    server.server().Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("wrong host", "text/plain");
    });
    server.start();

    ClientOptions options;
    options.ca_bundle = cert();
    Client client(options);
    Request request;
    // "localhost" reaches the same server, but the certificate names only 127.0.0.1.
    request.url = "https://localhost:" + std::to_string(server.port()) + "/";
    try {
        client.perform(request);
        FAIL() << "expected TransportError";
    } catch (const TransportError& error) {
        EXPECT_EQ(error.status(), Status::tls) << error.what();
    }
}

TEST(HttpClient, TraceLogOmitsQuery) {
    LoopbackServer server;
    server.server().Get("/API/GetNewSession", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("{}", "application/json");
    });
    server.start();

    std::vector<std::string> lines;
    log::set_host_callback(
        [](void* user_data, int, const char* message) {
            static_cast<std::vector<std::string>*>(user_data)->emplace_back(message);
        },
        &lines, SWARMPOD_LOG_TRACE);
    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/API/GetNewSession?worker_token=tok_in_query_987";
    client.perform(request);
    log::set_host_callback(nullptr, nullptr, SWARMPOD_LOG_OFF);

    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("GET 127.0.0.1:" + std::to_string(server.port()) + "/API/GetNewSession returned 200"),
              std::string::npos)
        << lines[0];
    EXPECT_EQ(lines[0].find("tok_in_query"), std::string::npos) << lines[0];
}

TEST(HttpClient, SequentialRequestsReuseConnection) {
    LoopbackServer server;
    std::vector<int> client_ports;
    server.server().Get("/port", [&](const httplib::Request& request, httplib::Response& response) {
        client_ports.push_back(request.remote_port);
        response.set_content("ok", "text/plain");
    });
    server.start();

    Client client(ClientOptions{});
    Request request;
    request.url = server.url() + "/port";
    client.perform(request);
    client.perform(request);
    client.perform(request);

    ASSERT_EQ(client_ports.size(), 3u);
    EXPECT_EQ(client_ports[0], client_ports[1]);
    EXPECT_EQ(client_ports[1], client_ports[2]);
}

TEST(HttpClient, EightThreadsShareOneClient) {
    LoopbackServer server;
    server.server().Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
        response.set_content(request.body, "application/json");
    });
    server.start();

    Client client(ClientOptions{});
    constexpr int kThreads = 8;
    constexpr int kRequestsPerThread = 25;
    std::atomic<int> mismatches{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRequestsPerThread; ++i) {
                Request request;
                request.method = "POST";
                request.url = server.url() + "/echo";
                request.body = "{\"thread\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
                try {
                    const Response response = client.perform(request);
                    if (response.status != 200 || response.body != request.body) ++mismatches;
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace swarmpod::http
