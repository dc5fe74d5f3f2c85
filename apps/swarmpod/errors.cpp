#include "errors.hpp"

#include <swarmpod/swarmpod.h>

#include <iostream>
#include <mutex>

namespace swarmpod_cli {
namespace {

std::mutex &secrets_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::vector<std::string> &secrets() {
    static std::vector<std::string> list;
    return list;
}

std::string to_one_line(std::string text) {
    for (char &c : text) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

} // namespace

int exit_code_for_status(int32_t status) {
    switch (status) {
    case SWARMPOD_OK:
        return kExitOk;
    case SWARMPOD_E_AUTH:
    case SWARMPOD_E_NO_API_KEY:
        return kExitAuth;
    case SWARMPOD_E_NOT_FOUND:
        return kExitNotFound;
    case SWARMPOD_E_TIMEOUT:
        return kExitTimeout;
    case SWARMPOD_E_CANCELLED:
        return kExitCancelled;
    default:
        return kExitFailure;
    }
}

std::string status_name(int32_t status) {
    switch (status) {
    case SWARMPOD_OK: return "ok";
    case SWARMPOD_E_INVALID_ARGUMENT: return "invalid_argument";
    case SWARMPOD_E_INVALID_CONFIG: return "invalid_config";
    case SWARMPOD_E_OUT_OF_MEMORY: return "out_of_memory";
    case SWARMPOD_E_INTERNAL: return "internal";
    case SWARMPOD_E_NETWORK: return "network";
    case SWARMPOD_E_TIMEOUT: return "timeout";
    case SWARMPOD_E_CANCELLED: return "cancelled";
    case SWARMPOD_E_AUTH: return "auth";
    case SWARMPOD_E_NOT_FOUND: return "not_found";
    case SWARMPOD_E_RATE_LIMITED: return "rate_limited";
    case SWARMPOD_E_SERVER: return "server";
    case SWARMPOD_E_BAD_RESPONSE: return "bad_response";
    case SWARMPOD_E_JOB_FAILED: return "job_failed";
    case SWARMPOD_E_WORKER: return "worker";
    case SWARMPOD_E_WORKER_URL_REJECTED: return "worker_url_rejected";
    case SWARMPOD_E_IMAGE_INVALID: return "image_invalid";
    case SWARMPOD_E_NO_API_KEY: return "no_api_key";
    case SWARMPOD_E_TLS: return "tls";
    case SWARMPOD_E_TOO_LARGE: return "too_large";
    case SWARMPOD_E_SHUTTING_DOWN: return "shutting_down";
    default: return "error_" + std::to_string(-status);
    }
}

void add_secret(const std::string &secret) {
    // Replacing a very short "key" everywhere would garble every line, and such a
    // string cannot be a real RunPod key, so it is not redacted.
    constexpr std::size_t kMinSecretLength = 6;
    if (secret.size() < kMinSecretLength) {
        return;
    }
    std::lock_guard<std::mutex> lock(secrets_mutex());
    secrets().push_back(secret);
}

std::string redact(std::string text) {
    std::lock_guard<std::mutex> lock(secrets_mutex());
    for (const std::string &secret : secrets()) {
        for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
            text.replace(at, secret.size(), "***");
        }
    }
    return text;
}

void print_error(const std::string &message) {
    std::cerr << "swarmpod: error: " << to_one_line(redact(message)) << '\n' << std::flush;
}

void print_usage_error(const std::string &message, const std::string &command) {
    const std::string help = command.empty() ? "swarmpod --help" : "swarmpod " + command + " --help";
    print_error(message + "; see '" + help + "'");
}

} // namespace swarmpod_cli
