// Deeply nested JSON from outside: json_depth_exceeds, and each parser that takes JSON
// text from the host or the network. Without the depth check, 100 000 nested arrays
// parse and then overflow the stack in nlohmann::json's recursive copy or dump.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backend/config.hpp"
#include "core/error.hpp"
#include "core/json_limits.hpp"
#include "http/client.hpp"
#include "loopback_server.hpp"
#include "runpod/client.hpp"
#include "swarm/client.hpp"

namespace swarmpod {
namespace {

using test::LoopbackServer;

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

template <class Body>
Status status_of(Body&& body) {
    try {
        body();
    } catch (const Error& error) {
        return error.status();
    }
    return Status::ok;
}

TEST(JsonDepth, FlatDocumentsPass) {
    EXPECT_FALSE(json_depth_exceeds(""));
    EXPECT_FALSE(json_depth_exceeds("{\"a\": [1, 2, {\"b\": null}]}"));
    EXPECT_FALSE(json_depth_exceeds(nested_arrays(kMaxJsonDepth)));
}

TEST(JsonDepth, OneLevelTooManyFails) {
    EXPECT_TRUE(json_depth_exceeds(nested_arrays(kMaxJsonDepth + 1)));
    EXPECT_TRUE(json_depth_exceeds(std::string(kMaxJsonDepth + 1, '{')));
}

TEST(JsonDepth, BracketsInStringsIgnored) {
    const std::string text = "{\"prompt\": \"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
    EXPECT_FALSE(json_depth_exceeds(text));
}

TEST(JsonDepth, EscapedQuoteKeepsStringOpen) {
    // The string is ["\"[[[..."] : the brackets after the escaped quote are still inside it.
    const std::string text = "[\"\\\"" + std::string(1000, '[') + "\"]";
    EXPECT_FALSE(json_depth_exceeds(text));
}

TEST(JsonDepth, ClosingBracketsNeverGoNegative) {
    const std::string text = std::string(10, ']') + nested_arrays(kMaxJsonDepth + 1);
    EXPECT_TRUE(json_depth_exceeds(text));
}

TEST(JsonDepth, ConfigDeepValueRejected) {
    const std::string config = "{\"EndpointId\": \"ep\", \"UseAsync\": " + nested_arrays(100000) + "}";
    EXPECT_EQ(status_of([&] { backend::parse_config(config); }), Status::invalid_config);
}

TEST(JsonDepth, ConfigDeepDocumentRejected) {
    EXPECT_EQ(status_of([&] { backend::parse_config(nested_arrays(100000)); }), Status::invalid_config);
}

TEST(JsonDepth, RunPodDeepReplyIsBadResponse) {
    const std::string body = "{\"id\": \"job-1\", \"status\": \"FAILED\", \"error\": " + nested_arrays(100000) + "}";
    LoopbackServer server;
    server.server().Get(R"(/v2/ep1/status/.*)", [&](const httplib::Request&, httplib::Response& response) {
        response.set_content(body, "application/json");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    runpod::EndpointConfig config;
    config.base_url = server.url() + "/v2";
    config.endpoint_id = "ep1";
    config.api_key = "rpa_TESTKEY_abcdef123456";
    runpod::Client client(http, config);

    EXPECT_EQ(status_of([&] { client.status("job-1", Deadline::in(Millis(5000))); }), Status::bad_response);
}

TEST(JsonDepth, SwarmDeepReplyIsBadResponse) {
    LoopbackServer server;
    server.server().Post("/API/GetNewSession", [&](const httplib::Request&, httplib::Response& response) {
        response.set_content("{\"session_id\": \"s1\"}", "application/json");
    });
    server.server().Post("/API/GenerateText2Image", [&](const httplib::Request&, httplib::Response& response) {
        response.set_content("{\"images\": {\"a\": " + nested_arrays(100000) + "}}", "application/json");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    swarm::Client client(http, swarm::WorkerAddress{server.url(), ""});

    EXPECT_EQ(status_of([&] { client.generate_http(nlohmann::json{{"prompt", "x"}}, Deadline::in(Millis(5000))); }),
              Status::bad_response);
}

TEST(JsonDepth, SwarmDeepErrorBodyIsNotJson) {
    LoopbackServer server;
    server.server().Post("/API/GetNewSession", [&](const httplib::Request&, httplib::Response& response) {
        response.status = 500;
        response.set_content("{\"error\": " + nested_arrays(100000) + "}", "application/json");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    swarm::Client client(http, swarm::WorkerAddress{server.url(), ""});

    EXPECT_EQ(status_of([&] { client.new_session(Deadline::in(Millis(5000))); }), Status::bad_response);
}

}  // namespace
}  // namespace swarmpod
