// swarmpod: command-line client of libswarmpod. Dispatches to the commands and turns
// usage errors into exit code 2.
#include "commands.hpp"
#include "errors.hpp"
#include "option_parser.hpp"
#include "options.hpp"

#include <swarmpod/swarmpod.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace swarmpod_cli;

std::string format_version(uint32_t version) {
    return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
           std::to_string(version % 100);
}

// Warns when the loaded library cannot serve this CLI: a binary built against the
// header works with the same major version and a minor version at least as high.
void warn_if_library_incompatible() {
    const uint32_t library = swarmpod_version();
    const uint32_t library_major = library / 10000;
    const uint32_t library_minor = library / 100 % 100;
    if (library_major != SWARMPOD_VERSION_MAJOR || library_minor < SWARMPOD_VERSION_MINOR) {
        std::cerr << "swarmpod: warning: libswarmpod " << swarmpod_version_string()
                  << " is older or of another major version than the header " << format_version(SWARMPOD_VERSION)
                  << " this CLI was built with; install a matching library\n";
    }
}

int print_version() {
    const uint32_t library = swarmpod_version();
    std::cout << "swarmpod " << format_version(SWARMPOD_VERSION) << '\n'
              << "libswarmpod " << swarmpod_version_string() << " (loaded)\n"
              << "swarmpod.h " << format_version(SWARMPOD_VERSION) << " (built against)\n";
    if (library / 100 != static_cast<uint32_t>(SWARMPOD_VERSION) / 100) {
        std::cerr << "swarmpod: warning: the loaded libswarmpod " << swarmpod_version_string()
                  << " differs in major or minor version from the header " << format_version(SWARMPOD_VERSION)
                  << "\n";
    }
    return kExitOk;
}

int print_command_help(const std::string &command) {
    if (command == "generate") {
        std::cout << generate_help();
    } else if (command == "health") {
        std::cout << health_help();
    } else {
        throw UsageError("unknown command '" + command + "'");
    }
    return kExitOk;
}

int dispatch(const std::string &command, const std::vector<std::string> &args) {
    if (command == "--help" || command == "-h") {
        std::cout << main_help();
        return kExitOk;
    }
    if (command == "--version") {
        return print_version();
    }
    if (command == "help") {
        if (args.empty()) {
            std::cout << main_help();
            return kExitOk;
        }
        return print_command_help(args.front());
    }
    if (command == "generate") {
        warn_if_library_incompatible();
        const auto options = parse_generate_options(args);
        if (!options) {
            std::cout << generate_help();
            return kExitOk;
        }
        return run_generate(*options);
    }
    if (command == "health") {
        warn_if_library_incompatible();
        const auto options = parse_health_options(args);
        if (!options) {
            std::cout << health_help();
            return kExitOk;
        }
        return run_health(*options);
    }

    std::string message = (command.compare(0, 1, "-") == 0 ? "unknown option '" : "unknown command '") + command + "'";
    const std::string suggestion = closest_match(command, {"generate", "health", "help", "--help", "--version"});
    if (!suggestion.empty()) {
        message += " (did you mean '" + suggestion + "'?)";
    }
    throw UsageError(message);
}

} // namespace

int main(int argc, char **argv) {
    if (const char *key = std::getenv("RUNPOD_API_KEY")) {
        add_secret(key);
    }
    if (argc < 2) {
        std::cerr << main_help();
        return kExitUsage;
    }

    const std::string command = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    const bool is_command = command == "generate" || command == "health";
    try {
        return dispatch(command, args);
    } catch (const UsageError &e) {
        print_usage_error(e.what(), is_command ? command : "");
        return kExitUsage;
    } catch (const std::exception &e) {
        print_error(e.what());
        return kExitFailure;
    }
}
