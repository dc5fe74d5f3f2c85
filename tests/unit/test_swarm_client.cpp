// swarm::Client against a cpp-httplib server on 127.0.0.1 that plays the worker's
// SwarmUI and, in the gateway tests, the v2 gateway in front of it.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "http/client.hpp"
#include "log/log.hpp"
#include "loopback_server.hpp"
#include "swarm/client.hpp"
#include "swarmpod/swarmpod.h"

namespace swarmpod::swarm {
namespace {

using nlohmann::json;
using test::LoopbackServer;
using namespace std::chrono_literals;

constexpr const char* kToken = "lease-token-5f1c2a9e7b3d4c6a8e0f1b2d3c4a5e6f";

// One request as the fake SwarmUI saw it.
struct SeenRequest {
    std::string method;
    std::string path;    // decoded by cpp-httplib
    std::string target;  // as sent, still percent-encoded
    std::string body;
    std::string authorization;
    std::string accept;
    std::string content_type;
    std::string content_length;
};

// Replies to one API route: gets the parsed request body, fills the response.
using RouteHandler = std::function<void(const json& body, httplib::Response& response)>;

void reply_json(httplib::Response& response, int status, const json& body) {
    response.status = status;
    response.set_content(body.dump(), "application/json");
}

// A SwarmUI on loopback: GetNewSession hands out "session-1", "session-2", ... and
// each other route runs the handler a test registers for it.
class FakeSwarmUI {
public:
    FakeSwarmUI() {
        server_.server().Post(R"(/API/(\w+))", [this](const httplib::Request& request, httplib::Response& response) {
            record(request);
            const std::string route = request.matches[1];
            const json body = json::parse(request.body, nullptr, false);
            if (route == "GetNewSession") {
                const int number = ++sessions_created;
                reply_json(response, 200, json{{"session_id", "session-" + std::to_string(number)},
                                               {"user_id", "local"},
                                               {"version", "0.9.8.2"}});
                return;
            }
            RouteHandler handler;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                const auto it = routes_.find(route);
                if (it != routes_.end()) handler = it->second;
            }
            if (!handler) {
                reply_json(response, 400, json{{"error", "Unknown API route"}, {"error_id", "bad_route"}});
                return;
            }
            handler(body, response);
        });
        server_.server().Get(R"(/View/.*)", [this](const httplib::Request& request, httplib::Response& response) {
            record(request);
            if (view_handler) view_handler(request, response);
        });
        server_.start();
    }

    void on(const std::string& route, RouteHandler handler) {
        std::lock_guard<std::mutex> lock(mutex_);
        routes_[route] = std::move(handler);
    }

    std::vector<SeenRequest> seen() {
        std::lock_guard<std::mutex> lock(mutex_);
        return seen_;
    }

    // Requests that went to `path` ("/API/ListModels", ...).
    std::vector<SeenRequest> seen_on(const std::string& path) {
        std::vector<SeenRequest> matching;
        for (const SeenRequest& request : seen()) {
            if (request.path == path) matching.push_back(request);
        }
        return matching;
    }

    std::string url() const { return server_.url(); }
    std::string host() const { return "127.0.0.1:" + std::to_string(server_.port()); }

    std::atomic<int> sessions_created{0};
    std::function<void(const httplib::Request&, httplib::Response&)> view_handler;

private:
    void record(const httplib::Request& request) {
        SeenRequest seen;
        seen.method = request.method;
        seen.path = request.path;
        seen.target = request.target;
        seen.body = request.body;
        seen.authorization = request.get_header_value("Authorization");
        seen.accept = request.get_header_value("Accept");
        seen.content_type = request.get_header_value("Content-Type");
        seen.content_length = request.get_header_value("Content-Length");
        std::lock_guard<std::mutex> lock(mutex_);
        seen_.push_back(std::move(seen));
    }

    std::mutex mutex_;
    std::map<std::string, RouteHandler> routes_;
    std::vector<SeenRequest> seen_;
    LoopbackServer server_;  // last, so it stops before the members its handlers use
};

Deadline soon() { return Deadline::in(10s); }

// Runs `action`, expects an Error and returns it as a copy with its message.
struct Caught {
    Status status = Status::ok;
    std::string message;
    bool transient = false;
    bool lease_ended = false;
    Millis retry_after{0};
};

Caught catch_error(const std::function<void()>& action) {
    Caught caught;
    try {
        action();
        ADD_FAILURE() << "expected an Error, nothing was thrown";
    } catch (const Error& error) {
        caught.status = error.status();
        caught.message = error.what();
        caught.transient = is_worker_transient(error);
        caught.lease_ended = is_lease_ended(error);
        if (const auto* worker = dynamic_cast<const WorkerError*>(&error)) caught.retry_after = worker->retry_after();
    }
    return caught;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class SwarmClientTest : public ::testing::Test {
protected:
    FakeSwarmUI swarm;
    http::Client http{http::ClientOptions{}};
};

TEST_F(SwarmClientTest, SessionCreatedOnceAndReused) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        reply_json(response, 200, json{{"0", {{"type", "comfyui_selfstart"}, {"status", "running"}}}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const json first = client.list_backends(soon());
    const json second = client.list_backends(soon());

    EXPECT_EQ(swarm.sessions_created.load(), 1);
    EXPECT_EQ(first["0"]["status"], "running");
    EXPECT_EQ(second, first);
    EXPECT_EQ(client.session_id(), "session-1");
    const std::vector<SeenRequest> calls = swarm.seen_on("/API/ListBackends");
    ASSERT_EQ(calls.size(), 2u);
    for (const SeenRequest& call : calls) {
        const json body = json::parse(call.body);
        EXPECT_EQ(body["session_id"], "session-1");
        EXPECT_EQ(body["full_data"], true);
        EXPECT_EQ(call.accept, "application/json");
        EXPECT_EQ(call.content_type, "application/json");
        EXPECT_EQ(call.content_length, std::to_string(call.body.size()));
    }
}

TEST_F(SwarmClientTest, GetNewSessionSendsEmptyObject) {
    Client client(http, WorkerAddress{swarm.url(), ""});
    EXPECT_EQ(client.new_session(soon()), "session-1");

    const std::vector<SeenRequest> calls = swarm.seen_on("/API/GetNewSession");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].body, "{}");
    EXPECT_EQ(calls[0].content_length, "2");
    EXPECT_EQ(calls[0].content_type, "application/json");
    EXPECT_EQ(calls[0].accept, "application/json");
    EXPECT_EQ(calls[0].authorization, "");
}

TEST_F(SwarmClientTest, RenewsInvalidSessionOnce) {
    swarm.on("ListModels", [](const json& body, httplib::Response& response) {
        if (body["session_id"] == "session-1") {
            reply_json(response, 401,
                       json{{"error", "Invalid session ID. You may need to refresh the page."},
                            {"error_id", "invalid_session_id"}});
            return;
        }
        const json files = json::array({json{{"name", "a.safetensors"}}});
        reply_json(response, 200, json{{"folders", json::array()}, {"files", files}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const json reply = client.list_models("Stable-Diffusion", soon());

    EXPECT_EQ(reply["files"][0]["name"], "a.safetensors");
    EXPECT_EQ(swarm.sessions_created.load(), 2);
    EXPECT_EQ(swarm.seen_on("/API/ListModels").size(), 2u);
    EXPECT_EQ(client.session_id(), "session-2");
}

TEST_F(SwarmClientTest, RenewsInvalidSessionIn200Body) {
    swarm.on("InterruptAll", [](const json& body, httplib::Response& response) {
        if (body["session_id"] == "session-1") {
            reply_json(response, 200, json{{"error", "Invalid session ID."}, {"error_id", "invalid_session_id"}});
            return;
        }
        reply_json(response, 200, json{{"success", true}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});
    client.new_session(soon());

    client.interrupt(soon());

    EXPECT_EQ(swarm.sessions_created.load(), 2);
    EXPECT_EQ(swarm.seen_on("/API/InterruptAll").size(), 2u);
}

TEST_F(SwarmClientTest, InvalidSessionTwiceFails) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        reply_json(response, 401, json{{"error", "Invalid session ID."}, {"error_id", "invalid_session_id"}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_TRUE(contains(caught.message, "invalid_session_id")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "ListBackends")) << caught.message;
    EXPECT_EQ(swarm.sessions_created.load(), 2);
    EXPECT_EQ(swarm.seen_on("/API/ListBackends").size(), 2u);
}

TEST_F(SwarmClientTest, ErrorIn200ReplyThrowsWorker) {
    swarm.on("GenerateText2Image", [](const json&, httplib::Response& response) {
        reply_json(response, 200,
                   json{{"error", "Invalid model value for param Model - 'nope' - are you sure that model name is "
                                  "correct?"},
                        {"error_id", "invalid_model"}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.generate_http(json{{"images", 1}}, soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_TRUE(contains(caught.message, "reported an error on GenerateText2Image: 'Invalid model value for param "
                                         "Model - 'nope'"))
        << caught.message;
    EXPECT_TRUE(contains(caught.message, "(error_id 'invalid_model')")) << caught.message;
    EXPECT_FALSE(caught.transient);
    EXPECT_FALSE(caught.lease_ended);
    EXPECT_EQ(swarm.sessions_created.load(), 1);
}

TEST_F(SwarmClientTest, WorkerUnauthorizedMeansLeaseEnded) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        reply_json(response, 401, json{{"error", "unauthorized"}, {"error_id", "worker_unauthorized"}});
        response.set_header("WWW-Authenticate", "Bearer realm=\"swarmui-worker\"");
    });
    Client client(http, WorkerAddress{swarm.url(), kToken});
    client.new_session(soon());

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_TRUE(caught.lease_ended);
    EXPECT_FALSE(caught.transient);
    EXPECT_TRUE(contains(caught.message, "lease ended")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "worker_unauthorized")) << caught.message;
    EXPECT_FALSE(contains(caught.message, kToken)) << caught.message;
    EXPECT_EQ(swarm.sessions_created.load(), 1);
}

TEST_F(SwarmClientTest, PlainText401IsAuthError) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        response.status = 401;
        response.set_content("Unauthorized", "text/plain");
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::auth);
    EXPECT_TRUE(contains(caught.message, "requires an Authorization header")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "/API/ListBackends")) << caught.message;
    EXPECT_TRUE(contains(caught.message, swarm.host())) << caught.message;
}

TEST_F(SwarmClientTest, WorkerStartingIsTransient) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        reply_json(response, 503, json{{"error", "SwarmUI is still starting"}, {"error_id", "worker_starting"}});
        response.set_header("Retry-After", "5");
    });
    Client client(http, WorkerAddress{swarm.url(), kToken});
    client.new_session(soon());

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_TRUE(caught.transient);
    EXPECT_FALSE(caught.lease_ended);
    EXPECT_EQ(caught.retry_after, Millis(5000));
    EXPECT_TRUE(contains(caught.message, "worker_starting")) << caught.message;
}

TEST_F(SwarmClientTest, UpstreamDownIsTransient) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        reply_json(response, 502, json{{"error", "SwarmUI is not reachable"}, {"error_id", "worker_upstream_down"}});
    });
    Client client(http, WorkerAddress{swarm.url(), kToken});
    client.new_session(soon());

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_TRUE(caught.transient);
    EXPECT_EQ(caught.retry_after, Millis(0));
    EXPECT_TRUE(contains(caught.message, "worker_upstream_down")) << caught.message;
}

TEST_F(SwarmClientTest, OtherHttpErrorNamesRoute) {
    swarm.on("ListModels", [](const json&, httplib::Response& response) {
        reply_json(response, 400, json{{"error", "You do not have permission"}, {"error_id", "bad_permissions"}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.list_models("LoRA", soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_FALSE(caught.transient);
    EXPECT_TRUE(contains(caught.message, "POST /API/ListModels")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "HTTP 400")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "'You do not have permission'")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "error_id 'bad_permissions'")) << caught.message;
}

TEST_F(SwarmClientTest, NonJsonReplyIsBadResponse) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        response.status = 200;
        response.set_content("<html>proxy error</html>", "text/html");
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::bad_response);
    EXPECT_TRUE(contains(caught.message, "/API/ListBackends")) << caught.message;
    EXPECT_TRUE(contains(caught.message, swarm.host())) << caught.message;
    EXPECT_TRUE(contains(caught.message, "<html>proxy error</html>")) << caught.message;
}

TEST_F(SwarmClientTest, NonJsonGatewayErrorIsBadResponse) {
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        response.status = 502;
        response.set_content("Bad Gateway", "text/plain");
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.list_backends(soon()); });

    EXPECT_EQ(caught.status, Status::bad_response);
    EXPECT_FALSE(caught.transient);
    EXPECT_TRUE(contains(caught.message, "HTTP 502")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "'Bad Gateway'")) << caught.message;
}

TEST(SwarmClient, SessionReplyWithoutIdIsBadResponse) {
    for (const json& reply : {json{{"session_id", ""}}, json{{"session_id", 42}}, json{{"user_id", "local"}}}) {
        LoopbackServer server;
        server.server().Post("/API/GetNewSession", [&](const httplib::Request&, httplib::Response& response) {
            reply_json(response, 200, reply);
        });
        server.start();
        http::Client http{http::ClientOptions{}};
        Client client(http, WorkerAddress{server.url(), ""});

        const Caught caught = catch_error([&] { client.new_session(soon()); });

        EXPECT_EQ(caught.status, Status::bad_response) << reply.dump();
        EXPECT_TRUE(contains(caught.message, "no session id from GetNewSession")) << caught.message;
        EXPECT_EQ(client.session_id(), "");
    }
}

// Collects log lines for one test and detaches the callback afterwards.
struct LogCapture {
    static void collect(void* user_data, int, const char* message) {
        auto* capture = static_cast<LogCapture*>(user_data);
        std::lock_guard<std::mutex> lock(capture->mutex);
        capture->lines.emplace_back(message);
    }
    LogCapture() { log::set_host_callback(&LogCapture::collect, this, SWARMPOD_LOG_TRACE); }
    ~LogCapture() { log::set_host_callback(nullptr, nullptr, SWARMPOD_LOG_OFF); }
    std::vector<std::string> snapshot() {
        std::lock_guard<std::mutex> lock(mutex);
        return lines;
    }
    std::mutex mutex;
    std::vector<std::string> lines;
};

TEST_F(SwarmClientTest, SendsBearerTokenAndHidesIt) {
    LogCapture logs;
    swarm.on("ListBackends", [](const json&, httplib::Response& response) {
        reply_json(response, 401, json{{"error", "Invalid session ID."}, {"error_id", "invalid_session_id"}});
    });
    swarm.on("ListModels", [](const json&, httplib::Response& response) {
        response.status = 500;
        response.set_content(std::string("upstream said: Authorization: Bearer ") + kToken, "text/plain");
    });
    Client client(http, WorkerAddress{swarm.url(), kToken});

    const Caught renewal = catch_error([&] { client.list_backends(soon()); });
    const Caught echoed = catch_error([&] { client.list_models("VAE", soon()); });

    const std::vector<SeenRequest> all = swarm.seen();
    ASSERT_FALSE(all.empty());
    for (const SeenRequest& request : all) {
        EXPECT_EQ(request.authorization, std::string("Bearer ") + kToken) << request.path;
    }
    EXPECT_FALSE(contains(renewal.message, kToken)) << renewal.message;
    EXPECT_FALSE(contains(echoed.message, kToken)) << echoed.message;
    EXPECT_TRUE(contains(echoed.message, "HTTP 500")) << echoed.message;
    const std::vector<std::string> lines = logs.snapshot();
    EXPECT_FALSE(lines.empty());
    for (const std::string& line : lines) {
        EXPECT_FALSE(contains(line, kToken)) << line;
        EXPECT_FALSE(contains(line, "session-1")) << line;
    }
}

TEST_F(SwarmClientTest, GenerateReturnsImages) {
    swarm.on("GenerateText2Image", [](const json& body, httplib::Response& response) {
        if (body["images"] != 2 || body["donotsave"] != true || body["session_id"] != "session-1") {
            reply_json(response, 200, json{{"error", "unexpected request " + body.dump()}});
            return;
        }
        reply_json(response, 200, json{{"images", {"data:image/png;base64,AAAA", "data:image/png;base64,BBBB"}}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});
    json request = shape_request(json{{"prompt", "a red fox"}, {"model", "sdxl"}, {"exactbackendid", 3}}, 2);

    const ReplyImages images = client.generate_http(std::move(request), soon());

    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images.view(0), "data:image/png;base64,AAAA");
    EXPECT_EQ(images.view(1), "data:image/png;base64,BBBB");
    const std::vector<SeenRequest> calls = swarm.seen_on("/API/GenerateText2Image");
    ASSERT_EQ(calls.size(), 1u);
    const json sent = json::parse(calls[0].body);
    EXPECT_EQ(sent["prompt"], "a red fox");
    EXPECT_FALSE(sent.contains("exactbackendid"));
}

// Long data URLs are read in place from the reply text, beside short ones and paths,
// in the order the worker sent them.
TEST_F(SwarmClientTest, GenerateKeepsLongImagesInTheReplyText) {
    const std::string big_a = "data:image/png;base64," + std::string(kLargeStringValue, 'A');
    const std::string big_b = "data:image/png;base64," + std::string(kLargeStringValue + 5, 'B');
    // Captured by value: the server thread reads them, and ThreadSanitizer does not see the
    // reply's round trip as ordering that read before the test frees them.
    swarm.on("GenerateText2Image", [big_a, big_b](const json&, httplib::Response& response) {
        reply_json(response, 200,
                   json{{"images", {big_a, "View/local/raw/a.png", big_b}}, {"note", std::string(70000, 'n')}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const ReplyImages images = client.generate_http(json{{"images", 3}}, soon());

    ASSERT_EQ(images.size(), 3u);
    EXPECT_TRUE(images.entries[0].span.has_value());
    EXPECT_FALSE(images.entries[1].span.has_value());
    EXPECT_EQ(images.view(0), big_a);
    EXPECT_EQ(images.view(1), "View/local/raw/a.png");
    EXPECT_EQ(images.view(2), big_b);
}

TEST_F(SwarmClientTest, GenerateWithoutImagesFails) {
    for (const json& reply : {json::object(), json{{"images", json::array()}}}) {
        swarm.on("GenerateText2Image",
                 [reply](const json&, httplib::Response& response) { reply_json(response, 200, reply); });
        Client client(http, WorkerAddress{swarm.url(), ""});

        const Caught caught = catch_error([&] { client.generate_http(json{{"images", 1}}, soon()); });

        EXPECT_EQ(caught.status, Status::worker) << reply.dump();
        EXPECT_TRUE(contains(caught.message, "the worker returned no images") ||
                    contains(caught.message, "The worker returned no images"))
            << caught.message;
    }
}

TEST_F(SwarmClientTest, GenerateRejectsNonStringImage) {
    swarm.on("GenerateText2Image", [](const json&, httplib::Response& response) {
        reply_json(response, 200, json{{"images", {"data:image/png;base64,AAAA", 7}}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.generate_http(json{{"images", 2}}, soon()); });

    EXPECT_EQ(caught.status, Status::bad_response);
    EXPECT_TRUE(contains(caught.message, "images[1]")) << caught.message;
}

TEST_F(SwarmClientTest, ListModelsSendsFullQuery) {
    swarm.on("ListModels", [](const json&, httplib::Response& response) {
        reply_json(response, 200, json{{"folders", json::array()}, {"files", json::array()}});
    });
    Client client(http, WorkerAddress{swarm.url(), ""});

    client.list_models("LoRA", soon());

    const std::vector<SeenRequest> calls = swarm.seen_on("/API/ListModels");
    ASSERT_EQ(calls.size(), 1u);
    const json sent = json::parse(calls[0].body);
    EXPECT_EQ(sent["path"], "");
    EXPECT_EQ(sent["depth"], 999);
    EXPECT_EQ(sent["subtype"], "LoRA");
    EXPECT_EQ(sent["allowRemote"], false);
    EXPECT_EQ(sent["sortBy"], "Name");
    EXPECT_EQ(sent["dataImages"], false);
    EXPECT_EQ(sent["session_id"], "session-1");
}

TEST_F(SwarmClientTest, ListModelsWithoutFilesIsBadResponse) {
    swarm.on("ListModels",
             [](const json&, httplib::Response& response) { reply_json(response, 200, json{{"folders", 1}}); });
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.list_models("VAE", soon()); });

    EXPECT_EQ(caught.status, Status::bad_response);
    EXPECT_TRUE(contains(caught.message, "'VAE'")) << caught.message;
}

TEST_F(SwarmClientTest, InterruptSendsOtherSessions) {
    swarm.on("InterruptAll",
             [](const json&, httplib::Response& response) { reply_json(response, 200, json{{"success", true}}); });
    Client client(http, WorkerAddress{swarm.url(), ""});
    client.new_session(soon());

    client.interrupt(soon());
    client.interrupt(soon(), nullptr, true);

    const std::vector<SeenRequest> calls = swarm.seen_on("/API/InterruptAll");
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(json::parse(calls[0].body)["other_sessions"], false);
    EXPECT_EQ(json::parse(calls[1].body)["other_sessions"], true);
}

TEST_F(SwarmClientTest, InterruptWithoutSessionSendsNothing) {
    Client client(http, WorkerAddress{swarm.url(), ""});

    client.interrupt(soon());

    EXPECT_TRUE(swarm.seen().empty());
}

TEST_F(SwarmClientTest, FetchViewEncodesSpaces) {
    const std::string file_bytes("\x89PNG\r\n\x1a\n\0\x01\x02", 11);
    swarm.view_handler = [&](const httplib::Request&, httplib::Response& response) {
        response.status = 200;
        response.set_content(file_bytes, "image/png");
    };
    Client client(http, WorkerAddress{swarm.url() + "/", kToken});
    const std::string path = "View/local/raw/2026-08-21/0001-a red fox, #1 \xC3\xBC?.png";

    const std::vector<uint8_t> bytes = client.fetch_view(path, soon());

    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), file_bytes);
    const std::vector<SeenRequest> calls = swarm.seen();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].method, "GET");
    EXPECT_EQ(calls[0].target, "/View/local/raw/2026-08-21/0001-a%20red%20fox%2C%20%231%20%C3%BC%3F.png");
    EXPECT_EQ(calls[0].path, "/" + path);
    EXPECT_EQ(calls[0].authorization, std::string("Bearer ") + kToken);
}

TEST_F(SwarmClientTest, FetchViewNotFoundNamesPath) {
    swarm.view_handler = [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, 404, json{{"error", "File not found."}, {"error_id", "file_not_found"}});
    };
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.fetch_view("View/local/raw/gone.png", soon()); });

    EXPECT_EQ(caught.status, Status::worker);
    EXPECT_TRUE(contains(caught.message, "GET 'View/local/raw/gone.png'")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "HTTP 404")) << caught.message;
    EXPECT_TRUE(contains(caught.message, "file_not_found")) << caught.message;
}

TEST_F(SwarmClientTest, FetchViewRejectsEscapingPaths) {
    Client client(http, WorkerAddress{swarm.url(), kToken});
    for (const std::string path : {"", "/etc/passwd", "http://elsewhere.example/a.png", "View/../../secret.png",
                                   "View/./a.png", "View/a\nb.png", "..\\a.png"}) {
        const Caught caught = catch_error([&] { client.fetch_view(path, soon()); });
        EXPECT_EQ(caught.status, Status::bad_response) << path;
        EXPECT_TRUE(contains(caught.message, "cannot be fetched")) << caught.message;
    }
    EXPECT_TRUE(swarm.seen().empty());
}

TEST_F(SwarmClientTest, ExpiredDeadlineTimesOut) {
    Client client(http, WorkerAddress{swarm.url(), ""});

    const Caught caught = catch_error([&] { client.new_session(Deadline::in(Millis(0))); });

    EXPECT_EQ(caught.status, Status::timeout);
    EXPECT_TRUE(contains(caught.message, "GetNewSession")) << caught.message;
    EXPECT_TRUE(swarm.seen().empty());
}

TEST(SwarmClient, RejectsNonHttpBaseUrl) {
    http::Client http{http::ClientOptions{}};
    const Caught caught = catch_error([&] { Client client(http, WorkerAddress{"ftp://worker:7801", ""}); });
    EXPECT_EQ(caught.status, Status::invalid_argument);
    EXPECT_TRUE(contains(caught.message, "'ftp://worker:7801'")) << caught.message;
}

// ---- shape_request ----------------------------------------------------------------

std::filesystem::path cases_dir() { return std::filesystem::path(__FILE__).parent_path().parent_path() / "cases"; }

json read_json(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

TEST(ShapeRequest, EveryCaseFile) {
    const std::vector<std::string> replaced = {"images", "donotsave", "exactbackendid", "internalbackendtype"};
    int files = 0;
    bool saw_backend_keys = false;
    bool saw_initimage = false;
    for (const auto& entry : std::filesystem::directory_iterator(cases_dir())) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        const std::string name = entry.path().filename().string();
        const json original = read_json(entry.path());
        saw_backend_keys = saw_backend_keys || original.contains("exactbackendid");

        const json shaped = shape_request(original, 3);

        EXPECT_EQ(shaped["images"], 3) << name;
        EXPECT_EQ(shaped["donotsave"], true) << name;
        EXPECT_FALSE(shaped.contains("exactbackendid")) << name;
        EXPECT_FALSE(shaped.contains("internalbackendtype")) << name;
        for (const auto& [key, value] : original.items()) {
            if (std::find(replaced.begin(), replaced.end(), key) != replaced.end()) continue;
            ASSERT_TRUE(shaped.contains(key)) << name << ": " << key;
            EXPECT_EQ(shaped[key], value) << name << ": " << key;
        }
        for (const auto& [key, value] : shaped.items()) {
            const bool added = key == "images" || key == "donotsave";
            EXPECT_TRUE(added || original.contains(key)) << name << ": unexpected key " << key;
        }
        if (original.contains("initimage")) {
            saw_initimage = true;
            EXPECT_EQ(shaped["initimage"].get<std::string>(), original["initimage"].get<std::string>()) << name;
        }
    }
    EXPECT_GE(files, 4);
    EXPECT_TRUE(saw_backend_keys) << "no case file has exactbackendid, so its removal is untested";
    EXPECT_TRUE(saw_initimage) << "no case file has initimage";
}

TEST(ShapeRequest, RejectsNonObjectAndZeroImages) {
    const Caught not_object = catch_error([] { shape_request(json::array({1, 2}), 1); });
    EXPECT_EQ(not_object.status, Status::invalid_argument);
    EXPECT_TRUE(contains(not_object.message, "must be a JSON object, got array")) << not_object.message;

    const Caught zero = catch_error([] { shape_request(json{{"prompt", "x"}}, 0); });
    EXPECT_EQ(zero.status, Status::invalid_argument);
    EXPECT_TRUE(contains(zero.message, "at least 1, got 0")) << zero.message;
}

}  // namespace
}  // namespace swarmpod::swarm
