#include <gtest/gtest.h>

#include "backend/config.hpp"
#include "core/error.hpp"

namespace {

using swarmpod::Error;
using swarmpod::Status;
using swarmpod::backend::parse_config;

// Returns the invalid_config message for `json`, or "" when it parsed.
std::string config_error(const std::string& json) {
    try {
        parse_config(json);
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::invalid_config) << error.what();
        return error.what();
    }
    return "";
}

TEST(Config, MinimalUsesDefaults) {
    auto config = parse_config(R"({"EndpointId": "abc123"})");
    EXPECT_EQ(config.endpoint_id, "abc123");
    EXPECT_EQ(config.api_base_url, "https://api.runpod.ai/v2");
    EXPECT_EQ(config.max_concurrent, 10);
    EXPECT_EQ(config.poll_interval_ms, 2000);
    EXPECT_EQ(config.startup_timeout_sec, 120);
    EXPECT_EQ(config.generation_timeout_sec, 300);
    EXPECT_FALSE(config.auto_refresh);
    EXPECT_TRUE(config.use_async);
    EXPECT_TRUE(config.use_websocket);
    EXPECT_FALSE(config.allow_insecure_worker_urls);
    EXPECT_TRUE(config.api_key.empty());
}

TEST(Config, SeedSettingsLoadUnchanged) {
    // The eight settings an existing SwarmUI backend entry has saved.
    auto config = parse_config(R"({"EndpointId": "ep-1", "UseAsync": false, "MaxConcurrent": 4,
        "PollIntervalMs": 1000, "StartupTimeoutSec": 300, "GenerationTimeoutSec": 600,
        "RunPodApiKey": "rpa_x", "AutoRefresh": true})");
    EXPECT_FALSE(config.use_async);
    EXPECT_EQ(config.max_concurrent, 4);
    EXPECT_EQ(config.poll_interval_ms, 1000);
    EXPECT_EQ(config.startup_timeout_sec, 300);
    EXPECT_EQ(config.generation_timeout_sec, 600);
    EXPECT_EQ(config.api_key, "rpa_x");
    EXPECT_TRUE(config.auto_refresh);
}

TEST(Config, InvalidJsonRejected) { EXPECT_NE(config_error("{EndpointId:"), ""); }

TEST(Config, NonObjectRejected) { EXPECT_NE(config_error("[1, 2]").find("object"), std::string::npos); }

TEST(Config, EmptyEndpointNamed) {
    EXPECT_NE(config_error(R"({"EndpointId": ""})").find("EndpointId"), std::string::npos);
    EXPECT_NE(config_error(R"({})").find("EndpointId"), std::string::npos);
}

TEST(Config, EndpointWithSlashRejected) {
    EXPECT_NE(config_error(R"({"EndpointId": "abc/../x"})").find("EndpointId"), std::string::npos);
}

TEST(Config, UnknownFieldNamed) {
    const std::string message = config_error(R"({"EndpointId": "a", "EndPointID": "b"})");
    EXPECT_NE(message.find("EndPointID"), std::string::npos) << message;
    EXPECT_NE(message.find("EndpointId"), std::string::npos) << "the known fields are listed: " << message;
}

TEST(Config, EachBadValueNamesItsField) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"EndpointId": "a", "StartupTimeoutSec": 0})", "StartupTimeoutSec"},
        {R"({"EndpointId": "a", "StartupTimeoutSec": -5})", "StartupTimeoutSec"},
        {R"({"EndpointId": "a", "GenerationTimeoutSec": -1})", "GenerationTimeoutSec"},
        {R"({"EndpointId": "a", "GenerationTimeoutSec": "soon"})", "GenerationTimeoutSec"},
        {R"({"EndpointId": "a", "MaxConcurrent": 0})", "MaxConcurrent"},
        {R"({"EndpointId": "a", "MaxConcurrent": 1.5})", "MaxConcurrent"},
        {R"({"EndpointId": "a", "PollIntervalMs": 10})", "PollIntervalMs"},
        {R"({"EndpointId": "a", "KeepWarmSec": -1})", "KeepWarmSec"},
        {R"({"EndpointId": "a", "UseAsync": "maybe"})", "UseAsync"},
        {R"({"EndpointId": "a", "WorkerProtocol": "v3"})", "WorkerProtocol"},
        {R"({"EndpointId": "a", "CostPerGpuSecond": -0.1})", "CostPerGpuSecond"},
        {R"({"EndpointId": "a", "ApiBaseUrl": "ftp://x"})", "ApiBaseUrl"},
        {R"({"EndpointId": "a", "ApiBaseUrl": "http://api.example.com/v2"})", "ApiBaseUrl"},
        {R"({"EndpointId": "a", "ApiBaseUrl": "https://user:pw@host/v2"})", "ApiBaseUrl"},
        {R"({"EndpointId": "a", "CaBundle": "/no/such/file.pem"})", "CaBundle"},
        {R"({"EndpointId": 42})", "EndpointId"},
        {R"({"EndpointId": "a", "MaxConcurrent": 5.06667e+81})", "MaxConcurrent"},
        {R"({"EndpointId": "a", "StartupTimeoutSec": -1e300})", "StartupTimeoutSec"},
    };
    for (const auto& [json, field] : cases) {
        const std::string message = config_error(json);
        EXPECT_NE(message.find(field), std::string::npos) << json << " gave: '" << message << "'";
    }
}

TEST(Config, PlainHttpAllowedOnlyOnLoopback) {
    EXPECT_EQ(parse_config(R"({"EndpointId": "a", "ApiBaseUrl": "http://127.0.0.1:8080/v2/"})").api_base_url,
              "http://127.0.0.1:8080/v2");
    EXPECT_NO_THROW(parse_config(R"({"EndpointId": "a", "ApiBaseUrl": "http://localhost:1/v2"})"));
    EXPECT_NO_THROW(parse_config(R"({"EndpointId": "a", "ApiBaseUrl": "http://[::1]:1/v2"})"));
    EXPECT_NE(config_error(R"({"EndpointId": "a", "ApiBaseUrl": "http://127.example.com/v2"})"), "");
}

TEST(Config, DescribeOmitsKey) {
    auto config = parse_config(R"({"EndpointId": "a", "RunPodApiKey": "rpa_SECRET_123456"})");
    const std::string text = swarmpod::backend::describe_config(config).dump();
    EXPECT_EQ(text.find("rpa_SECRET_123456"), std::string::npos);
    EXPECT_NE(text.find("\"HasBackendApiKey\":true"), std::string::npos);
}

}  // namespace
