#include "commands.hpp"
#include "errors.hpp"
#include "interrupt.hpp"
#include "library_handles.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "request_builder.hpp"
#include "terminal.hpp"

#include <swarmpod/swarmpod.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <ctime>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

namespace swarmpod_cli {
namespace {

// Shared with the callbacks, which run on the thread that called swarmpod_generate.
struct GenerateContext {
    ProgressPrinter &printer;
    ImageWriter &writer;
    std::optional<std::string> write_error;
};

struct GenerateOutcome {
    LibraryFailure failure; // status SWARMPOD_OK on success
    nlohmann::json library_result = nlohmann::json::object();
};

int32_t SWARMPOD_CALL forward_progress(void *user_data, const swarmpod_progress *event) {
    auto &context = *static_cast<GenerateContext *>(user_data);
    try {
        // An older library's shorter struct lacks fields this CLI reads.
        if (event->struct_size >= offsetof(swarmpod_progress, json) + sizeof event->json) {
            context.printer.on_progress(*event);
        }
    } catch (...) {
        // A failed stderr write is no reason to stop a billed generation.
    }
    return received_signal() != 0 ? 1 : 0;
}

int32_t SWARMPOD_CALL forward_image(void *user_data, const swarmpod_image *image) {
    auto &context = *static_cast<GenerateContext *>(user_data);
    try {
        if (image->struct_size < offsetof(swarmpod_image, metadata) + sizeof image->metadata) {
            context.write_error = "the library's image struct is older than this CLI; update libswarmpod";
            return 1;
        }
        const std::string warning = context.writer.write(image->batch_index, image->mime != nullptr ? image->mime : "",
                                                         image->data, image->size, image->width, image->height);
        if (!warning.empty()) {
            context.printer.note(warning);
        }
        return 0;
    } catch (const std::exception &e) {
        // Returning non-zero cancels the generation, so the job stops billing.
        context.write_error = e.what();
        return 1;
    } catch (...) {
        context.write_error = "unknown error while writing an image";
        return 1;
    }
}

// Returns how many images the request expects: images times batchsize, each a
// number or a numeric string as SwarmUI accepts them.
int64_t expected_image_count(const nlohmann::json &request) {
    auto read_count = [&request](const char *key) -> int64_t {
        const auto field = request.find(key);
        if (field == request.end()) {
            return 1;
        }
        if (field->is_number_integer()) {
            return field->get<int64_t>();
        }
        if (field->is_string()) {
            try {
                return std::stoll(field->get<std::string>());
            } catch (const std::exception &) {
                return 1;
            }
        }
        return 1;
    };
    const int64_t count = read_count("images") * read_count("batchsize");
    return count > 0 ? count : 1;
}

GenerateOutcome generate(const BackendSetup &setup, const nlohmann::json &request, GenerateContext &context) {
    GenerateOutcome outcome;
    const std::string missing_key = missing_api_key_message(setup);
    if (!missing_key.empty()) {
        outcome.failure = LibraryFailure{SWARMPOD_E_NO_API_KEY, missing_key};
        return outcome;
    }

    swarmpod_backend *raw_backend = nullptr;
    const int32_t created = swarmpod_backend_new(setup.config.dump().c_str(), &raw_backend);
    if (created != SWARMPOD_OK) {
        outcome.failure = capture_failure(created);
        return outcome;
    }
    const BackendHandle backend(raw_backend);

    swarmpod_generation *raw_generation = nullptr;
    const int32_t made = swarmpod_generation_new(&raw_generation);
    if (made != SWARMPOD_OK) {
        outcome.failure = capture_failure(made);
        return outcome;
    }
    const GenerationHandle generation(raw_generation);

    swarmpod_callbacks callbacks{};
    callbacks.struct_size = sizeof callbacks;
    callbacks.on_progress = forward_progress;
    callbacks.on_image = forward_image;
    callbacks.user_data = &context;

    char *raw_result = nullptr;
    int32_t status = SWARMPOD_OK;
    {
        const InterruptWatcher watcher(generation.get(), [&context] {
            context.printer.note("interrupted: cancelling the generation and ending the RunPod job "
                                 "(press Ctrl-C again to exit at once)");
        });
        status = swarmpod_generate(backend.get(), request.dump().c_str(),
                                   setup.api_key ? setup.api_key->c_str() : nullptr, generation.get(), &callbacks,
                                   &raw_result);
        if (status != SWARMPOD_OK) {
            outcome.failure = capture_failure(status);
        }
    }
    const LibraryString result(raw_result);
    if (result) {
        nlohmann::json parsed = nlohmann::json::parse(result.get(), nullptr, false);
        if (parsed.is_object()) {
            outcome.library_result = std::move(parsed);
        }
    }
    // Returning frees the backend, which releases the worker. Its log lines still
    // reach the printer because the caller's log scope outlives this function.
    return outcome;
}

nlohmann::json image_summary(const nlohmann::json &library_result, const WrittenImage &image) {
    nlohmann::json entry = nlohmann::json::object();
    const auto images = library_result.find("images");
    if (images != library_result.end() && images->is_array()) {
        for (const nlohmann::json &candidate : *images) {
            const auto index = candidate.find("batch_index");
            if (candidate.is_object() && index != candidate.end() && index->is_number_integer() &&
                index->get<int64_t>() == image.batch_index) {
                entry = candidate;
                break;
            }
        }
    }
    entry["path"] = image.path;
    entry["mime"] = image.mime;
    entry["width"] = image.width;
    entry["height"] = image.height;
    entry["batch_index"] = image.batch_index;
    entry["bytes"] = image.bytes;
    return entry;
}

void print_json_summary(GenerateOutcome &outcome, const GenerateContext &context, const std::string &status,
                        const std::string &error) {
    nlohmann::json summary = std::move(outcome.library_result);
    summary["status"] = status;
    // The library reports what a long-lived host keeps warm. The CLI freed its backend
    // before printing, which ended the worker's job (an error line reports when it could not).
    if (summary.contains("released")) {
        summary["released"] = true;
        summary.erase("kept_warm_seconds");
    }
    if (!error.empty()) {
        summary["error"] = error;
    }
    nlohmann::json images = nlohmann::json::array();
    for (const WrittenImage &image : context.writer.written()) {
        images.push_back(image_summary(summary, image));
    }
    summary["images"] = std::move(images);
    std::cout << redact(summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) << '\n' << std::flush;
}

void print_written_images(const ImageWriter &writer) {
    for (const WrittenImage &image : writer.written()) {
        std::cout << "image written: " << image.path << " (";
        if (image.width > 0 && image.height > 0) {
            std::cout << image.width << 'x' << image.height;
        } else {
            std::cout << "size unknown";
        }
        std::cout << ", " << image.mime << ")\n";
    }
    std::cout << std::flush;
}

} // namespace

int run_generate(const GenerateOptions &options) {
    BackendSetup setup = build_backend_setup(options.connection);
    add_generate_settings(options, setup.config);
    const nlohmann::json request = build_request(options);
    check_output_destination(options.out);
    const int64_t expected_images = expected_image_count(request);

    const ConnectionOptions &connection = options.connection;
    ProgressPrinter printer(connection.quiet, stderr_is_terminal(), expected_images);
    ImageWriter writer(options.out, expected_images, std::time(nullptr));
    GenerateContext context{printer, writer, std::nullopt};

    install_interrupt_handlers();
    GenerateOutcome outcome;
    {
        const LogCallbackScope logging(printer, effective_log_level(connection));
        outcome = generate(setup, request, context);
    }
    printer.finish();

    const int32_t status = outcome.failure.status;
    std::string status_text = status_name(status);
    std::string error = with_flag_hint(status, outcome.failure.message);
    int exit_code = exit_code_for_status(status);
    if (context.write_error) {
        // The library reports a cancellation; the cause is the failed write.
        status_text = "write_failed";
        error = *context.write_error;
        exit_code = kExitFailure;
    } else if (status == SWARMPOD_E_CANCELLED && received_signal() != 0) {
        exit_code = 128 + received_signal();
    }

    if (connection.json) {
        print_json_summary(outcome, context, status_text, error);
    } else {
        print_written_images(writer);
    }
    if (exit_code != kExitOk) {
        print_error(error);
    }
    return exit_code;
}

} // namespace swarmpod_cli
