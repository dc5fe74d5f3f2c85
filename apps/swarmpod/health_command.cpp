#include "commands.hpp"
#include "errors.hpp"
#include "library_handles.hpp"
#include "progress.hpp"
#include "request_builder.hpp"

#include <swarmpod/swarmpod.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

namespace swarmpod_cli {
namespace {

// Formats a JSON value for one line of human output: strings without quotes.
std::string plain(const nlohmann::json &value) {
    return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Prints "label: key=value key=value" for an object of counters such as
// {"idle": 1, "running": 0}.
void print_counters(const char *label, const nlohmann::json &health, const char *key) {
    const auto counters = health.find(key);
    if (counters == health.end()) {
        return;
    }
    std::cout << label;
    if (counters->is_object()) {
        for (const auto &[name, value] : counters->items()) {
            std::cout << ' ' << name << '=' << plain(value);
        }
    } else {
        std::cout << ' ' << plain(*counters);
    }
    std::cout << '\n';
}

void print_health(const nlohmann::json &health) {
    const auto field = [&health](const char *key) {
        const auto found = health.find(key);
        return found == health.end() ? std::string("(not reported)") : plain(*found);
    };
    std::cout << "endpoint:  " << field("endpoint_id") << '\n'
              << "diagnosis: " << field("diagnosis") << '\n'
              << "message:   " << field("message") << '\n';
    print_counters("workers:  ", health, "workers");
    print_counters("jobs:     ", health, "jobs");
    std::cout << std::flush;
}

} // namespace

int run_health(const HealthOptions &options) {
    const ConnectionOptions &connection = options.connection;
    const BackendSetup setup = build_backend_setup(connection);
    ProgressPrinter printer(connection.quiet, false, 0);

    LibraryFailure failure;
    LibraryString raw_health;
    const std::string missing_key = missing_api_key_message(setup);
    if (!missing_key.empty()) {
        failure = LibraryFailure{SWARMPOD_E_NO_API_KEY, missing_key};
    } else {
        const LogCallbackScope logging(printer, effective_log_level(connection));
        swarmpod_backend *raw_backend = nullptr;
        const int32_t created = swarmpod_backend_new(setup.config.dump().c_str(), &raw_backend);
        if (created != SWARMPOD_OK) {
            failure = capture_failure(created);
        } else {
            const BackendHandle backend(raw_backend);
            char *text = nullptr;
            const int32_t status =
                swarmpod_endpoint_health(backend.get(), setup.api_key ? setup.api_key->c_str() : nullptr, &text);
            if (status != SWARMPOD_OK) {
                failure = capture_failure(status);
            }
            raw_health.reset(text);
        }
    }

    if (failure.status != SWARMPOD_OK) {
        failure.message = with_flag_hint(failure.status, failure.message);
        if (connection.json) {
            const nlohmann::json summary = {{"status", status_name(failure.status)}, {"error", failure.message}};
            std::cout << redact(summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) << '\n' << std::flush;
        }
        print_error(failure.message);
        return exit_code_for_status(failure.status);
    }

    nlohmann::json health =
        raw_health ? nlohmann::json::parse(raw_health.get(), nullptr, false) : nlohmann::json();
    if (!health.is_object()) {
        print_error("the library returned health data that is not a JSON object; this is a libswarmpod bug");
        return kExitFailure;
    }
    if (connection.json) {
        if (!health.contains("status")) {
            health["status"] = "ok";
        }
        std::cout << redact(health.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) << '\n' << std::flush;
    } else {
        print_health(health);
    }
    return kExitOk;
}

} // namespace swarmpod_cli
