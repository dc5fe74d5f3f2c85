// The C ABI: the only extern "C" code. Each function validates its arguments, calls
// into the C++ core inside one guard that turns every exception into a status code and
// a per-thread message, and never lets an exception cross the boundary.
#include <swarmpod/swarmpod.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/backend.hpp"
#include "backend/config.hpp"
#include "core/cancel.hpp"
#include "core/error.hpp"
#include "core/utf8.hpp"
#include "core/json_limits.hpp"
#include "log/log.hpp"

// `magic` is first, where glibc's allocator writes its free-list pointer when the
// block is freed, so a handle used after swarmpod_backend_free usually fails the check
// instead of running on freed memory. This is a best effort: use after free stays
// undefined behaviour, as the header says.
constexpr uint64_t kBackendMagic = 0x73776d70'6f646231ull;  // "swmpodb1"

struct swarmpod_backend {
    uint64_t magic = kBackendMagic;
    std::unique_ptr<swarmpod::backend::Backend> impl;
};

struct swarmpod_generation {
    swarmpod::CancelToken token;
};

namespace {

using swarmpod::Error;
using swarmpod::Status;

thread_local std::string t_last_error;

// Largest request accepted through the ABI. SwarmUI bodies with init images are a few
// MiB; this bound keeps a runaway caller from exhausting memory in the JSON parser.
constexpr std::size_t kMaxRequestBytes = 256u * 1024u * 1024u;

int32_t fail(Status status, const std::string& message) {
    // Messages quote worker and RunPod text, which need not be UTF-8; the header promises it.
    t_last_error = swarmpod::log::redact(swarmpod::to_valid_utf8(message));
    return static_cast<int32_t>(status);
}

template <class Body>
int32_t guarded(Body&& body) noexcept {
    try {
        t_last_error.clear();
        body();
        return SWARMPOD_OK;
    } catch (const Error& error) {
        return fail(error.status(), error.what());
    } catch (const std::bad_alloc&) {
        return fail(Status::out_of_memory, "Out of memory.");
    } catch (const std::exception& error) {
        return fail(Status::internal, std::string("Internal error: ") + error.what());
    } catch (...) {
        return fail(Status::internal, "Internal error: unknown exception.");
    }
}

// Copies a std::string into a malloc'd C string that swarmpod_string_free releases.
char* copy_out(const std::string& text) {
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (out == nullptr) throw std::bad_alloc();
    std::memcpy(out, text.data(), text.size());
    out[text.size()] = '\0';
    return out;
}

void require(bool condition, const char* message) {
    if (!condition) throw Error(Status::invalid_argument, message);
}

void require_backend(const swarmpod_backend* backend) {
    require(backend != nullptr, "backend is NULL: create one with swarmpod_backend_new.");
    require(backend->magic == kBackendMagic,
            "backend is not a live swarmpod_backend: it was freed, or the pointer is not one swarmpod_backend_new "
            "returned.");
}

std::string checked_string(const char* text, const char* name, std::size_t max_bytes) {
    if (text == nullptr) throw Error(Status::invalid_argument, std::string(name) + " is NULL.");
    const std::size_t length = strnlen(text, max_bytes + 1);
    if (length > max_bytes) {
        throw Error(Status::too_large, std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes.");
    }
    return std::string(text, length);
}

// Returns `message` with the config's RunPodApiKey value, if the config has one,
// replaced by "***".
std::string without_config_key(const std::string& config_text, std::string message) {
    if (swarmpod::json_depth_exceeds(config_text)) return message;
    const nlohmann::json config = nlohmann::json::parse(config_text, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) return message;
    const auto key = config.find("RunPodApiKey");
    if (key == config.end() || !key->is_string()) return message;
    const std::string& secret = key->get_ref<const std::string&>();
    if (secret.size() < 4) return message;
    for (std::size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at + 3)) {
        message.replace(at, secret.size(), "***");
    }
    return message;
}

}  // namespace

extern "C" {

uint32_t swarmpod_version(void) { return SWARMPOD_VERSION; }

const char* swarmpod_version_string(void) {
#define SWARMPOD_STR2(x) #x
#define SWARMPOD_STR(x) SWARMPOD_STR2(x)
    return SWARMPOD_STR(SWARMPOD_VERSION_MAJOR) "." SWARMPOD_STR(SWARMPOD_VERSION_MINOR) "." SWARMPOD_STR(
        SWARMPOD_VERSION_PATCH);
#undef SWARMPOD_STR
#undef SWARMPOD_STR2
}

const char* swarmpod_strerror(int32_t status) {
    if (status > 0 || status < static_cast<int32_t>(Status::shutting_down)) return "unknown status";
    return swarmpod::status_name(static_cast<Status>(status));
}

const char* swarmpod_last_error_message(void) { return t_last_error.c_str(); }

void swarmpod_string_free(char* str) { std::free(str); }

int32_t swarmpod_set_log_callback(swarmpod_log_fn callback, void* user_data, int32_t min_level) {
    return guarded([&] {
        require(min_level >= SWARMPOD_LOG_TRACE && min_level <= SWARMPOD_LOG_OFF && min_level != 5,
                "min_level must be one of the SWARMPOD_LOG_* values.");
        swarmpod::log::set_host_callback(reinterpret_cast<swarmpod::log::HostCallback>(callback), user_data,
                                         callback == nullptr ? SWARMPOD_LOG_OFF : min_level);
    });
}

int32_t swarmpod_backend_new(const char* config_json, swarmpod_backend** out) {
    if (out != nullptr) *out = nullptr;
    return guarded([&] {
        require(out != nullptr, "out is NULL: pass the address of a swarmpod_backend* to receive the backend.");
        const std::string text = checked_string(config_json, "config_json", 1024 * 1024);
        swarmpod::backend::Config config;
        try {
            config = swarmpod::backend::parse_config(text);
        } catch (const Error& error) {
            // A config error quotes the invalid value, which may be the API key pasted
            // into the wrong field. The key is not registered as a secret yet, so mask it here.
            throw Error(error.status(), without_config_key(text, error.what()));
        }
        auto handle = std::make_unique<swarmpod_backend>();
        handle->impl = std::make_unique<swarmpod::backend::Backend>(std::move(config));
        *out = handle.release();
    });
}

void swarmpod_backend_free(swarmpod_backend* backend) {
    if (backend == nullptr || backend->magic != kBackendMagic) return;
    backend->magic = 0;
    try {
        backend->impl->shutdown();
    } catch (...) {
        // shutdown is noexcept; this only guards against a future change.
    }
    delete backend;
}

int32_t swarmpod_generation_new(swarmpod_generation** out) {
    if (out != nullptr) *out = nullptr;
    return guarded([&] {
        require(out != nullptr, "out is NULL: pass the address of a swarmpod_generation* to receive the handle.");
        *out = new swarmpod_generation();
    });
}

void swarmpod_generation_cancel(swarmpod_generation* generation) {
    if (generation != nullptr) generation->token.cancel();
}

void swarmpod_generation_free(swarmpod_generation* generation) { delete generation; }

int32_t swarmpod_generate(swarmpod_backend* backend, const char* request_json, const char* api_key,
                          swarmpod_generation* generation, const swarmpod_callbacks* callbacks,
                          char** out_result_json) {
    if (out_result_json != nullptr) *out_result_json = nullptr;
    nlohmann::json summary = nlohmann::json::object();
    std::string failure_message;

    const int32_t status = guarded([&] {
        require_backend(backend);
        const std::string request = checked_string(request_json, "request_json", kMaxRequestBytes);
        if (swarmpod::json_depth_exceeds(request)) {
            throw Error(Status::invalid_argument, "request_json nests arrays or objects deeper than " +
                                                      std::to_string(swarmpod::kMaxJsonDepth) +
                                                      " levels; SwarmUI requests are flat objects.");
        }
        const std::string key = api_key == nullptr ? std::string() : checked_string(api_key, "api_key", 4096);
        if (callbacks != nullptr && callbacks->struct_size < sizeof(swarmpod_callbacks)) {
            throw Error(Status::invalid_argument,
                        "callbacks->struct_size is " + std::to_string(callbacks->struct_size) +
                            "; set it to sizeof(swarmpod_callbacks).");
        }

        swarmpod::CancelToken local_token;
        swarmpod::CancelToken& token = generation != nullptr ? generation->token : local_token;

        swarmpod::backend::Callbacks hooks;
        if (callbacks != nullptr && callbacks->on_progress != nullptr) {
            hooks.on_progress = [callbacks](const swarmpod::backend::ProgressEvent& event) {
                const std::string json = swarmpod::backend::to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                swarmpod_progress view{};
                view.struct_size = sizeof(swarmpod_progress);
                view.phase = static_cast<int32_t>(event.phase);
                view.batch_index = event.batch_index;
                view.elapsed_seconds = event.elapsed_seconds;
                view.estimated_remaining_seconds = event.estimated_remaining_seconds;
                view.overall_percent = event.overall_percent;
                view.current_percent = event.current_percent;
                view.worker_id = event.worker_id.empty() ? nullptr : event.worker_id.c_str();
                view.message = event.message.c_str();
                view.preview = event.preview.empty() ? nullptr : event.preview.data();
                view.preview_size = event.preview.size();
                view.preview_mime = event.preview_mime.empty() ? nullptr : event.preview_mime.c_str();
                view.json = json.c_str();
                return callbacks->on_progress(callbacks->user_data, &view) == 0;
            };
        }
        if (callbacks != nullptr && callbacks->on_image != nullptr) {
            hooks.on_image = [callbacks](const swarmpod::backend::GeneratedImage& image) {
                swarmpod_image view{};
                view.struct_size = sizeof(swarmpod_image);
                view.batch_index = image.batch_index;
                view.data = image.bytes.data();
                view.size = image.bytes.size();
                view.mime = image.mime.c_str();
                view.width = image.info.width;
                view.height = image.info.height;
                view.channels = image.info.channels;
                view.metadata = image.metadata.empty() ? nullptr : image.metadata.c_str();
                view.gpu_seconds = image.gpu_seconds;
                return callbacks->on_image(callbacks->user_data, &view) == 0;
            };
        }
        backend->impl->generate(request, key, token, hooks, summary);
    });

    if (out_result_json != nullptr) {
        try {
            if (status != SWARMPOD_OK) {
                summary["status"] = swarmpod_strerror(status);
                summary["status_code"] = status;
                summary["error"] = t_last_error;
            } else {
                summary["status_code"] = 0;
            }
            *out_result_json = copy_out(swarmpod::log::redact(summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
        } catch (...) {
            *out_result_json = nullptr;
        }
    }
    return status;
}

int32_t swarmpod_endpoint_health(swarmpod_backend* backend, const char* api_key, char** out_json) {
    if (out_json != nullptr) *out_json = nullptr;
    return guarded([&] {
        require_backend(backend);
        require(out_json != nullptr, "out_json is NULL: pass the address of a char* to receive the JSON.");
        const std::string key = api_key == nullptr ? std::string() : checked_string(api_key, "api_key", 4096);
        *out_json = copy_out(backend->impl->endpoint_health(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    });
}

int32_t swarmpod_backend_status(swarmpod_backend* backend, char** out_json) {
    if (out_json != nullptr) *out_json = nullptr;
    return guarded([&] {
        require_backend(backend);
        require(out_json != nullptr, "out_json is NULL: pass the address of a char* to receive the JSON.");
        *out_json = copy_out(swarmpod::log::redact(backend->impl->status().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    });
}

int32_t swarmpod_backend_stop_worker(swarmpod_backend* backend, const char* worker_id) {
    return guarded([&] {
        require_backend(backend);
        const std::string id = checked_string(worker_id, "worker_id", 256);
        if (!backend->impl->stop_worker(id)) {
            throw Error(Status::not_found,
                        "No held worker has the id '" + id + "'; list the held workers with swarmpod_backend_status.");
        }
    });
}

int32_t swarmpod_backend_list_models(swarmpod_backend* backend, const char* subtype, int32_t refresh,
                                     const char* api_key, char** out_json) {
    if (out_json != nullptr) *out_json = nullptr;
    return guarded([&] {
        require_backend(backend);
        require(out_json != nullptr, "out_json is NULL: pass the address of a char* to receive the JSON.");
        const std::string type = checked_string(subtype, "subtype", 256);
        require(refresh == 0 || refresh == 1, "refresh must be 0 (cache only) or 1 (read the list from a worker).");
        const std::string key = api_key == nullptr ? std::string() : checked_string(api_key, "api_key", 4096);
        *out_json = copy_out(swarmpod::log::redact(backend->impl->list_models(type, refresh == 1, key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    });
}

int32_t swarmpod_backend_features(swarmpod_backend* backend, char** out_json) {
    if (out_json != nullptr) *out_json = nullptr;
    return guarded([&] {
        require_backend(backend);
        require(out_json != nullptr, "out_json is NULL: pass the address of a char* to receive the JSON.");
        *out_json = copy_out(backend->impl->features().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    });
}

}  // extern "C"
