// swarm::interpret_reply and the per-route readers on SwarmUI and v2 gateway replies,
// without a server. The loopback tests in test_swarm_client.cpp cover the same replies
// through swarm::Client.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "http/client.hpp"
#include "swarm/replies.hpp"

namespace swarmpod::swarm {
namespace {

using nlohmann::json;

constexpr const char* kHost = "pod123-7801.proxy.runpod.net";

http::Response reply(long status, std::string body, std::string retry_after = "") {
    http::Response response;
    response.status = status;
    response.body = std::move(body);
    if (!retry_after.empty()) response.headers.emplace_back("retry-after", retry_after);
    return response;
}

// Returns what interpret_reply throws for the reply, or fails the test when it throws
// nothing.
template <typename Expected>
Expected thrown_by(const http::Response& response, const std::string& route = "ListBackends") {
    try {
        interpret_reply(route, response, kHost);
    } catch (const Expected& error) {
        return error;
    }
    ADD_FAILURE() << "no error for HTTP " << response.status << " " << response.body;
    return Expected(Status::internal, "");
}

template <>
WorkerError thrown_by<WorkerError>(const http::Response& response, const std::string& route) {
    try {
        interpret_reply(route, response, kHost);
    } catch (const WorkerError& error) {
        return error;
    }
    ADD_FAILURE() << "no WorkerError for HTTP " << response.status << " " << response.body;
    return WorkerError(WorkerState::reported_error, "");
}

TEST(SwarmReplies, ObjectReplyReturned) {
    const ApiReply parsed = interpret_reply("InterruptAll", reply(200, R"({"success": true})"), kHost);
    EXPECT_FALSE(parsed.invalid_session);
    EXPECT_EQ(parsed.body, json({{"success", true}}));
}

TEST(SwarmReplies, InvalidSessionOnAnyStatus) {
    const std::string body =
        R"({"error": "Invalid session ID. You may need to refresh the page.", "error_id": "invalid_session_id"})";
    EXPECT_TRUE(interpret_reply("ListBackends", reply(401, body), kHost).invalid_session);
    EXPECT_TRUE(interpret_reply("ListBackends", reply(200, body), kHost).invalid_session);
}

TEST(SwarmReplies, GatewayStartingKeepsRetryAfter) {
    const WorkerError error =
        thrown_by<WorkerError>(reply(503, R"({"error": "SwarmUI is still starting", "error_id": "worker_starting"})", "5"));
    EXPECT_EQ(error.state(), WorkerState::starting);
    EXPECT_EQ(error.retry_after(), Millis(5000));
    EXPECT_TRUE(is_worker_transient(error));
}

TEST(SwarmReplies, GatewayRetryAfterDateIgnored) {
    const WorkerError error = thrown_by<WorkerError>(
        reply(503, R"({"error_id": "worker_starting"})", "Wed, 21 Oct 2026 07:28:00 GMT"));
    EXPECT_EQ(error.retry_after(), Millis(0));
}

TEST(SwarmReplies, GatewayUpstreamDownIsTransient) {
    const WorkerError error =
        thrown_by<WorkerError>(reply(502, R"({"error": "SwarmUI is not reachable", "error_id": "worker_upstream_down"})"));
    EXPECT_EQ(error.state(), WorkerState::upstream_down);
    EXPECT_TRUE(is_worker_transient(error));
}

TEST(SwarmReplies, GatewayUnauthorizedEndsLease) {
    const WorkerError error =
        thrown_by<WorkerError>(reply(401, R"({"error": "unauthorized", "error_id": "worker_unauthorized"})"));
    EXPECT_TRUE(is_lease_ended(error));
    EXPECT_FALSE(is_worker_transient(error));
}

TEST(SwarmReplies, PlainText401IsAuth) {
    EXPECT_EQ(thrown_by<Error>(reply(401, "Unauthorized")).status(), Status::auth);
}

TEST(SwarmReplies, HtmlErrorPageIsBadResponse) {
    const Error error = thrown_by<Error>(reply(502, "<html><body>502 Bad Gateway</body></html>"));
    EXPECT_EQ(error.status(), Status::bad_response);
    EXPECT_NE(std::string(error.what()).find("HTTP 502"), std::string::npos) << error.what();
}

TEST(SwarmReplies, ErrorIn200QuotesText) {
    const WorkerError error = thrown_by<WorkerError>(
        reply(200, R"({"error": "No backends match the settings of the request given!"})"), "GenerateText2Image");
    EXPECT_EQ(error.state(), WorkerState::reported_error);
    EXPECT_NE(std::string(error.what()).find("No backends match"), std::string::npos) << error.what();
}

TEST(SwarmReplies, NonObject200IsBadResponse) {
    EXPECT_EQ(thrown_by<Error>(reply(200, "[1, 2]")).status(), Status::bad_response);
    EXPECT_EQ(thrown_by<Error>(reply(200, "")).status(), Status::bad_response);
}

TEST(SwarmReplies, DeepNestingIsBadResponse) {
    EXPECT_EQ(thrown_by<Error>(reply(200, std::string(100000, '['))).status(), Status::bad_response);
}

TEST(SwarmReplies, QuoteEscapesControlBytes) {
    EXPECT_EQ(quote_worker_text("a\nb", 10), "'a\\x0Ab'");
    EXPECT_EQ(quote_worker_text("abcdef", 3), "'abc'... (6 bytes)");
}

TEST(SwarmReplies, SessionIdRead) {
    EXPECT_EQ(session_id_from_reply(json{{"session_id", "4f0c9d"}, {"user_id", "local"}}, kHost), "4f0c9d");
    for (const json& broken : {json::object(), json{{"session_id", ""}}, json{{"session_id", 12}}}) {
        try {
            session_id_from_reply(broken, kHost);
            ADD_FAILURE() << "no error for " << broken.dump();
        } catch (const Error& error) {
            EXPECT_EQ(error.status(), Status::bad_response) << broken.dump();
        }
    }
}

TEST(SwarmReplies, ImagesRead) {
    const std::vector<std::string> images =
        images_from_reply(json{{"images", {"data:image/png;base64,AAAA", "View/local/raw/a.png"}}}, kHost);
    EXPECT_EQ(images, (std::vector<std::string>{"data:image/png;base64,AAAA", "View/local/raw/a.png"}));
}

TEST(SwarmReplies, NoImagesIsWorkerError) {
    for (const json& broken : {json::object(), json{{"images", json::array()}}, json{{"images", "a.png"}}}) {
        try {
            images_from_reply(broken, kHost);
            ADD_FAILURE() << "no error for " << broken.dump();
        } catch (const WorkerError& error) {
            EXPECT_EQ(error.state(), WorkerState::reported_error) << broken.dump();
        }
    }
}

TEST(SwarmReplies, NonStringImageIsBadResponse) {
    try {
        images_from_reply(json{{"images", {"data:image/png;base64,AAAA", 7}}}, kHost);
        FAIL() << "no error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::bad_response);
        EXPECT_NE(std::string(error.what()).find("images[1]"), std::string::npos) << error.what();
    }
}

TEST(SwarmReplies, ModelListNeedsFiles) {
    EXPECT_NO_THROW(check_model_list(json{{"folders", json::array()}, {"files", json::array()}}, "LoRA", kHost));
    try {
        check_model_list(json{{"folders", json::array()}}, "LoRA", kHost);
        FAIL() << "no error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::bad_response);
    }
}

}  // namespace
}  // namespace swarmpod::swarm
