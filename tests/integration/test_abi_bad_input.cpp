// Every C ABI function with bad arguments: NULLs, empty strings, invalid UTF-8, strings
// over the documented caps, deeply nested JSON, a too small struct_size and a freed
// handle. Each call returns an error code and a message; none crashes.
#include <gtest/gtest.h>

#include <string>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"
#include "unit/loopback_server.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
using swarmpod::testing::generate;

const char* kConfig = R"({"EndpointId": "test-endpoint", "ApiBaseUrl": "http://127.0.0.1:9/v2"})";
const char* kRequest = R"({"prompt": "x", "images": 1})";

// True when `text` is valid UTF-8 (no stray, truncated, overlong or surrogate sequences).
bool is_valid_utf8(const std::string& text) {
    std::size_t at = 0;
    while (at < text.size()) {
        const auto lead = static_cast<unsigned char>(text[at]);
        std::size_t length = 0;
        if (lead < 0x80) {
            length = 1;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
        }
        if (length == 0 || at + length > text.size()) return false;
        const auto second = static_cast<unsigned char>(text[at + 1 < text.size() ? at + 1 : at]);
        if (length > 1 && ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
                           (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F))) {
            return false;
        }
        for (std::size_t i = 1; i < length; ++i) {
            const auto next = static_cast<unsigned char>(text[at + i]);
            if (next < 0x80 || next > 0xBF) return false;
        }
        at += length;
    }
    return true;
}

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

int32_t new_backend(const std::string& config) {
    swarmpod_backend* backend = reinterpret_cast<swarmpod_backend*>(0x1);
    const int32_t status = swarmpod_backend_new(config.c_str(), &backend);
    if (status != SWARMPOD_OK) {
        EXPECT_EQ(backend, nullptr) << "a failed swarmpod_backend_new must set *out to NULL";
        EXPECT_STRNE(swarmpod_last_error_message(), "") << "no message for status " << status;
    }
    swarmpod_backend_free(backend);
    return status;
}

TEST(AbiBadInput, BackendNewNulls) {
    swarmpod_backend* backend = nullptr;
    EXPECT_EQ(swarmpod_backend_new(nullptr, &backend), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(backend, nullptr);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("config_json"), std::string::npos);
    EXPECT_EQ(swarmpod_backend_new(kConfig, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("out"), std::string::npos);
}

TEST(AbiBadInput, BackendNewEmptyAndMalformed) {
    EXPECT_EQ(new_backend(""), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend("{"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend("[]"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend("{}"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend(R"({"EndpointId": ""})"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend(R"({"EndpointId": null})"), SWARMPOD_E_INVALID_CONFIG);
}

TEST(AbiBadInput, BackendNewInvalidUtf8) {
    EXPECT_EQ(new_backend("{\"EndpointId\": \"ab\xff\xfe\"}"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend("{\"EndpointId\": \"abc\", \"CaBundle\": \"\xc3\x28\"}"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend("{\"Endpoint\xe2\x82Id\": \"abc\"}"), SWARMPOD_E_INVALID_CONFIG);
}

TEST(AbiBadInput, BackendNewValidUtf8OutsideAsciiRejectedByRule) {
    // Valid UTF-8, but not allowed in an endpoint id: the message names the field.
    EXPECT_EQ(new_backend("{\"EndpointId\": \"\xe7\xab\xaf\xe7\x82\xb9\"}"), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("EndpointId"), std::string::npos);
}

TEST(AbiBadInput, BackendNewOversized) {
    std::string config = R"({"EndpointId": "abc", "ModelCachePath": ")" + std::string(1024 * 1024, 'a') + "\"}";
    EXPECT_EQ(new_backend(config), SWARMPOD_E_TOO_LARGE);
}

TEST(AbiBadInput, BackendNewDeeplyNested) {
    EXPECT_EQ(new_backend(nested_arrays(100000)), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_EQ(new_backend(R"({"EndpointId": "abc", "UseAsync": )" + nested_arrays(100000) + "}"),
              SWARMPOD_E_INVALID_CONFIG);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("deeper"), std::string::npos)
        << swarmpod_last_error_message();
}

TEST(AbiBadInput, GenerateNulls) {
    Backend backend(kConfig);
    char* result = reinterpret_cast<char*>(0x1);

    EXPECT_EQ(swarmpod_generate(nullptr, kRequest, "k", nullptr, nullptr, &result), SWARMPOD_E_INVALID_ARGUMENT);
    ASSERT_NE(result, nullptr) << "a failed generate still returns a result JSON";
    EXPECT_EQ(json::parse(result).value("status_code", 0), SWARMPOD_E_INVALID_ARGUMENT);
    swarmpod_string_free(result);

    EXPECT_EQ(swarmpod_generate(backend.get(), nullptr, "k", nullptr, nullptr, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("request_json"), std::string::npos);
    EXPECT_EQ(swarmpod_generate(backend.get(), kRequest, nullptr, nullptr, nullptr, nullptr),
              SWARMPOD_E_NO_API_KEY);
}

TEST(AbiBadInput, GenerateEmptyStrings) {
    Backend backend(kConfig);
    EXPECT_EQ(swarmpod_generate(backend.get(), "", "k", nullptr, nullptr, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(swarmpod_generate(backend.get(), kRequest, "", nullptr, nullptr, nullptr), SWARMPOD_E_NO_API_KEY);
    EXPECT_EQ(swarmpod_generate(backend.get(), "[]", "k", nullptr, nullptr, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(swarmpod_generate(backend.get(), "null", "k", nullptr, nullptr, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
}

TEST(AbiBadInput, GenerateInvalidUtf8Request) {
    Backend backend(kConfig);
    const std::string request = "{\"prompt\": \"a \xff\xfe cat\", \"images\": 1}";
    EXPECT_EQ(swarmpod_generate(backend.get(), request.c_str(), "k", nullptr, nullptr, nullptr),
              SWARMPOD_E_INVALID_ARGUMENT);
    const std::string message = swarmpod_last_error_message();
    EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
    EXPECT_EQ(message.find('\xff'), std::string::npos) << "the invalid bytes are not repeated";
    const std::string truncated = "{\"prompt\": \"\xe2\x82\", \"images\": 1}";
    EXPECT_EQ(swarmpod_generate(backend.get(), truncated.c_str(), "k", nullptr, nullptr, nullptr),
              SWARMPOD_E_INVALID_ARGUMENT);
}

// RunPod's (or a worker's) reply text reaches the error message and the result JSON. When it
// is not UTF-8, the bytes are replaced, so the message is valid UTF-8 as the header promises
// and the result JSON can still be made (it was NULL, and the CLI's --json printed nothing).
TEST(AbiBadInput, InvalidUtf8ReplyStillGivesResultJson) {
    swarmpod::test::LoopbackServer runpod;
    runpod.server().Post(R"(/v2/test-endpoint/run)", [](const httplib::Request&, httplib::Response& reply) {
        reply.status = 400;
        reply.set_content("{\"error\": \"bad \xff\xfe input \xc3\"}", "application/json");
    });
    runpod.start();
    Backend backend(R"({"EndpointId": "test-endpoint", "WorkerProtocol": "v2", "ApiBaseUrl": "http://127.0.0.1:)" +
                    std::to_string(runpod.port()) + R"(/v2"})");
    char* result = nullptr;

    const int32_t status = swarmpod_generate(backend.get(), kRequest, "test-key", nullptr, nullptr, &result);

    EXPECT_NE(status, SWARMPOD_OK);
    const std::string message = swarmpod_last_error_message();
    EXPECT_TRUE(is_valid_utf8(message)) << message;
    EXPECT_NE(message.find("bad \xEF\xBF\xBD\xEF\xBF\xBD input"), std::string::npos) << message;
    ASSERT_NE(result, nullptr);
    const json summary = json::parse(result);
    swarmpod_string_free(result);
    EXPECT_EQ(summary.value("status_code", 0), status);
    EXPECT_EQ(summary.value("error", ""), message);
}

// https:// to a port that speaks plain HTTP fails in the TLS handshake, before any request
// is sent, so the message must not say that RunPod may have started a job.
TEST(AbiBadInput, HttpsToPlainPortStartedNothing) {
    swarmpod::test::LoopbackServer runpod;
    runpod.start();
    Backend backend(R"({"EndpointId": "test-endpoint", "WorkerProtocol": "v2", "ApiBaseUrl": "https://127.0.0.1:)" +
                    std::to_string(runpod.port()) + R"(/v2"})");

    const int32_t status = swarmpod_generate(backend.get(), kRequest, "test-key", nullptr, nullptr, nullptr);

    EXPECT_EQ(status, SWARMPOD_E_TLS) << swarmpod_last_error_message();
    const std::string message = swarmpod_last_error_message();
    EXPECT_EQ(message.find("may have started"), std::string::npos) << message;
}

TEST(AbiBadInput, GenerateDeeplyNestedRequest) {
    Backend backend(kConfig);
    const std::string request = R"({"prompt": "x", "images": 1, "extra": )" + nested_arrays(100000) + "}";
    char* result = nullptr;
    EXPECT_EQ(swarmpod_generate(backend.get(), request.c_str(), "k", nullptr, nullptr, &result),
              SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("deeper"), std::string::npos)
        << swarmpod_last_error_message();
    swarmpod_string_free(result);
}

TEST(AbiBadInput, GenerateOversizedRequest) {
    Backend backend(kConfig);
    std::string request = R"({"images": 1, "prompt": ")";
    request.append(256u * 1024u * 1024u, 'a');
    request += "\"}";
    EXPECT_EQ(swarmpod_generate(backend.get(), request.c_str(), "k", nullptr, nullptr, nullptr),
              SWARMPOD_E_TOO_LARGE);
}

TEST(AbiBadInput, GenerateOversizedKey) {
    Backend backend(kConfig);
    const std::string key(4097, 'k');
    EXPECT_EQ(swarmpod_generate(backend.get(), kRequest, key.c_str(), nullptr, nullptr, nullptr),
              SWARMPOD_E_TOO_LARGE);
}

TEST(AbiBadInput, KeyWithLineBreakNeverSent) {
    // A key with CR LF would add a header line to every RunPod request.
    EmulatorProcess emulator({"--cold-start-ms", "300", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), kRequest, "test-key\r\nX-Injected: 1", collector);

    EXPECT_NE(outcome.status, SWARMPOD_OK) << "a key with a line break was accepted";
    EXPECT_TRUE(emulator.ledger()["jobs"].empty()) << emulator.ledger()["jobs"].dump();
}

TEST(AbiBadInput, CallbacksStructSizeTooSmall) {
    Backend backend(kConfig);
    for (uint32_t size : {0u, 1u, static_cast<uint32_t>(sizeof(swarmpod_callbacks) - 1)}) {
        swarmpod_callbacks callbacks{};
        callbacks.struct_size = size;
        EXPECT_EQ(swarmpod_generate(backend.get(), kRequest, "k", nullptr, &callbacks, nullptr),
                  SWARMPOD_E_INVALID_ARGUMENT)
            << "struct_size " << size;
        EXPECT_NE(std::string(swarmpod_last_error_message()).find("struct_size"), std::string::npos);
    }
}

TEST(AbiBadInput, GenerateWithFreedBackend) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "reading a freed handle is what the sanitizers report; this check is for plain builds";
#else
    swarmpod_backend* backend = nullptr;
    ASSERT_EQ(swarmpod_backend_new(kConfig, &backend), SWARMPOD_OK);
    swarmpod_backend_free(backend);

    // Undefined behaviour by the header's rules; the library detects it where it can.
    EXPECT_EQ(swarmpod_generate(backend, kRequest, "k", nullptr, nullptr, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("freed"), std::string::npos);
    char* out = nullptr;
    EXPECT_EQ(swarmpod_endpoint_health(backend, "k", &out), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(out, nullptr);
#endif
}

TEST(AbiBadInput, HealthNulls) {
    Backend backend(kConfig);
    char* out = reinterpret_cast<char*>(0x1);
    EXPECT_EQ(swarmpod_endpoint_health(nullptr, "k", &out), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(swarmpod_endpoint_health(backend.get(), "k", nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(swarmpod_endpoint_health(backend.get(), nullptr, &out), SWARMPOD_E_NO_API_KEY);
    EXPECT_EQ(out, nullptr);
    const std::string key(5000, 'k');
    EXPECT_EQ(swarmpod_endpoint_health(backend.get(), key.c_str(), &out), SWARMPOD_E_TOO_LARGE);
}

TEST(AbiBadInput, LogCallbackLevels) {
    auto callback = [](void*, int32_t, const char*) {};
    for (int32_t level : {-1, 5, 7, 1000, INT32_MIN}) {
        EXPECT_EQ(swarmpod_set_log_callback(callback, nullptr, level), SWARMPOD_E_INVALID_ARGUMENT) << level;
    }
    EXPECT_EQ(swarmpod_set_log_callback(nullptr, nullptr, SWARMPOD_LOG_TRACE), SWARMPOD_OK);
    EXPECT_EQ(swarmpod_set_log_callback(callback, nullptr, SWARMPOD_LOG_OFF), SWARMPOD_OK);
    EXPECT_EQ(swarmpod_set_log_callback(nullptr, nullptr, SWARMPOD_LOG_OFF), SWARMPOD_OK);
}

TEST(AbiBadInput, NullAcceptingFunctions) {
    swarmpod_backend_free(nullptr);
    swarmpod_generation_cancel(nullptr);
    swarmpod_generation_free(nullptr);
    swarmpod_string_free(nullptr);
    EXPECT_EQ(swarmpod_generation_new(nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    for (int32_t code : {1, -21, -1000, INT32_MIN, INT32_MAX}) {
        ASSERT_NE(swarmpod_strerror(code), nullptr);
        EXPECT_STREQ(swarmpod_strerror(code), "unknown status") << code;
    }
}

TEST(AbiBadInput, CancelledHandleBeforeCall) {
    Backend backend(kConfig);
    swarmpod_generation* generation = nullptr;
    ASSERT_EQ(swarmpod_generation_new(&generation), SWARMPOD_OK);
    swarmpod_generation_cancel(generation);
    swarmpod_generation_cancel(generation);
    EXPECT_EQ(swarmpod_generate(backend.get(), kRequest, "k", generation, nullptr, nullptr), SWARMPOD_E_CANCELLED);
    swarmpod_generation_free(generation);
}

}  // namespace
