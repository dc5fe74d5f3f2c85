// libcurl transport.
//
// Concurrency design: one CURLSH share handle holds the DNS cache and the TLS session
// cache for every thread, guarded by one mutex per curl_lock_data kind. Connections are
// NOT shared through it, because libcurl 7.88 does not support a connection cache
// shared by concurrent threads. Instead the Client keeps a mutex-protected pool of
// (easy, multi) handle pairs. A pair serves one transfer at a time and keeps its
// connections open between transfers, so sequential calls reuse connections.
//
// Each transfer runs through the pair's multi handle with a 50 ms poll, so a
// CancelToken is noticed within about 50 ms even while the server sends nothing
// (curl_easy_perform only checks its progress callback about once per second then).
#include "http/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "log/log.hpp"

namespace swarmpod::http {

namespace {

constexpr int kPollIntervalMs = 50;
constexpr std::size_t kMaxIdleHandles = 16;

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (code != CURLE_OK) {
            throw Error(Status::internal,
                        std::string("libcurl failed to initialise: ") + curl_easy_strerror(code));
        }
    });
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// RAII owners for curl handles.
struct EasyDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct MultiDeleter {
    void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
struct ShareDeleter {
    void operator()(CURLSH* handle) const noexcept { curl_share_cleanup(handle); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
struct UrlDeleter {
    void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using MultiPtr = std::unique_ptr<CURLM, MultiDeleter>;
using SharePtr = std::unique_ptr<CURLSH, ShareDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;

// One easy handle and the multi handle that drives it; the multi handle owns the
// connection cache, so the pair travels together through the pool.
struct HandlePair {
    EasyPtr easy;
    MultiPtr multi;
};

// Returns "host:port", plus the path when `with_path` is set, for messages and logs.
// Never the query or the credentials of the URL, because those can hold tokens.
std::string describe_host(const std::string& url, bool with_path = false) {
    UrlPtr parsed(curl_url());
    if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return "the server";
    }
    std::string result;
    char* host = nullptr;
    if (curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK && host != nullptr) {
        result = host;
        curl_free(host);
    } else {
        return "the server";
    }
    char* port = nullptr;
    if (curl_url_get(parsed.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && port != nullptr) {
        result += ':';
        result += port;
        curl_free(port);
    }
    char* path = nullptr;
    if (with_path && curl_url_get(parsed.get(), CURLUPART_PATH, &path, 0) == CURLUE_OK && path != nullptr) {
        result += path;
        curl_free(path);
    }
    return result;
}

// State shared with the curl callbacks of one transfer.
struct TransferState {
    Response* response = nullptr;
    std::size_t max_response_bytes = 0;
    const CancelToken* cancel = nullptr;
    bool too_large = false;
    bool cancelled = false;
    std::exception_ptr callback_exception;
};

size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
    auto* state = static_cast<TransferState*>(user);
    const size_t bytes = size * count;
    try {
        const std::string_view line(data, bytes);
        if (line.rfind("HTTP/", 0) == 0) {
            // A new status line starts a new header block (after a 1xx reply, for one).
            state->response->headers.clear();
            return bytes;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return bytes;  // the blank line ending the block
        std::string name = to_lower(trim(line.substr(0, colon)));
        std::string value(trim(line.substr(colon + 1)));
        if (name == "content-length") {
            // Reserve up front for large bodies, but never beyond the cap.
            try {
                const auto length = static_cast<std::size_t>(std::stoull(value));
                state->response->body.reserve(std::min(length, state->max_response_bytes));
            } catch (const std::logic_error&) {
                // A malformed Content-Length is left for curl to reject.
            }
        }
        state->response->headers.emplace_back(std::move(name), std::move(value));
        return bytes;
    } catch (...) {
        state->callback_exception = std::current_exception();
        return 0;
    }
}

size_t on_body(char* data, size_t size, size_t count, void* user) noexcept {
    auto* state = static_cast<TransferState*>(user);
    const size_t bytes = size * count;
    try {
        std::string& body = state->response->body;
        if (bytes > state->max_response_bytes - std::min(body.size(), state->max_response_bytes)) {
            state->too_large = true;
            return 0;  // any count other than `bytes` makes curl abort with CURLE_WRITE_ERROR
        }
        body.append(data, bytes);
        return bytes;
    } catch (...) {
        state->callback_exception = std::current_exception();
        return 0;
    }
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
    auto* state = static_cast<TransferState*>(user);
    try {
        if (state->cancel != nullptr && state->cancel->cancelled()) {
            state->cancelled = true;
            return 1;  // makes curl abort with CURLE_ABORTED_BY_CALLBACK
        }
        return 0;
    } catch (...) {
        state->callback_exception = std::current_exception();
        return 1;
    }
}

bool has_header(const Headers& headers, std::string_view lower_name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& header) { return to_lower(header.first) == lower_name; });
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

void validate(const Request& request) {
    if (request.method != "GET" && request.method != "POST") {
        throw Error(Status::invalid_argument,
                    "HTTP method '" + request.method + "' is not supported; use GET or POST.");
    }
    if (request.url.empty()) {
        throw Error(Status::invalid_argument, "HTTP request has an empty URL; set Request::url.");
    }
    if (request.timeout.count() <= 0 || request.connect_timeout.count() <= 0) {
        throw Error(Status::invalid_argument,
                    "HTTP timeouts must be positive (timeout " + std::to_string(request.timeout.count()) +
                        " ms, connect_timeout " + std::to_string(request.connect_timeout.count()) + " ms).");
    }
    for (const auto& [name, value] : request.headers) {
        // Header values may hold a key, so the message names the header only.
        if (name.empty() || has_line_break(name) || has_line_break(value) ||
            name.find(':') != std::string::npos) {
            throw Error(Status::invalid_argument,
                        "HTTP header '" + log::redact(name) +
                            "' is invalid: names must be non-empty without ':', and neither name nor value "
                            "may contain a line break.");
        }
    }
}

SlistPtr build_header_list(const Request& request) {
    SlistPtr list;
    const auto append = [&list](const std::string& line) {
        curl_slist* grown = curl_slist_append(list.get(), line.c_str());
        if (grown == nullptr) throw Error(Status::out_of_memory, "cannot allocate an HTTP header list");
        list.release();  // curl_slist_append returned the same list, now one longer
        list.reset(grown);
    };
    for (const auto& [name, value] : request.headers) {
        // "Name;" is curl's syntax for a header sent with an empty value.
        append(value.empty() ? name + ";" : name + ": " + value);
    }
    if (request.method == "POST" && !has_header(request.headers, "content-type")) {
        append("Content-Type: application/json");
    }
    // An empty "Expect:" stops curl from waiting for "100 Continue" before a large body.
    append("Expect:");
    return list;
}

std::string os_error_text(long os_errno) {
    std::array<char, 256> buffer{};
    // GNU strerror_r returns the message pointer, which may or may not be `buffer`.
    const char* text = strerror_r(static_cast<int>(os_errno), buffer.data(), buffer.size());
    return text != nullptr ? std::string(text) : std::string("error ") + std::to_string(os_errno);
}

// Maps a failed transfer to the TransportFailure the header documents.
TransportFailure describe_failure(CURLcode code, CURL* easy, const char* error_buffer, const Request& request,
                                  const TransferState& state, std::size_t max_response_bytes) {
    const std::string host = describe_host(request.url);
    std::string detail = (error_buffer != nullptr && error_buffer[0] != '\0') ? std::string(error_buffer)
                                                                                : curl_easy_strerror(code);
    detail = log::redact(detail);

    TransportFailure failure;
    if (state.cancelled) {
        failure.status = Status::cancelled;
        failure.message = "request to " + host + " was cancelled";
        return failure;
    }
    if (state.too_large) {
        failure.status = Status::too_large;
        failure.message = "response from " + host + " is larger than the limit of " +
                          std::to_string(max_response_bytes / (1024 * 1024)) + " MiB (" +
                          std::to_string(max_response_bytes) + " bytes)";
        return failure;
    }

    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            failure.status = Status::network;
            failure.certainly_not_sent = true;
            failure.message = "cannot resolve the host name of " + host + " (" + detail + ")";
            break;
        case CURLE_COULDNT_CONNECT: {
            long os_errno = 0;
            curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
            failure.status = Status::network;
            failure.certainly_not_sent = true;
            failure.message =
                "cannot connect to " + host + " (" + (os_errno != 0 ? os_error_text(os_errno) : detail) + ")";
            break;
        }
        case CURLE_OPERATION_TIMEDOUT:
            failure.status = Status::timeout;
            failure.message = "request to " + host + " timed out (limit " +
                              std::to_string(request.timeout.count()) + " ms, connect limit " +
                              std::to_string(request.connect_timeout.count()) + " ms; " + detail + ")";
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
            failure.status = Status::tls;
            // OpenSSL reports "wrong version number" when the server replied in plain HTTP.
            if (detail.find("wrong version number") != std::string::npos) {
                failure.message = "TLS with " + host + " failed (" + detail +
                                  "): the server does not speak TLS on that port; check the URL's scheme and port";
            } else {
                failure.message = "TLS with " + host + " failed (" + detail +
                                  "); check the server certificate, or add its CA certificate to the PEM file that "
                                  "CaBundle names";
            }
            break;
        default:
            failure.status = Status::network;
            failure.message = "request to " + host + " failed (" + detail + ")";
            break;
    }
    return failure;
}

// Sets an option and turns a rejection into an Error. curl rejects options it was
// built without, for example a CA file on a build with no TLS backend.
template <class Value>
void set_option(CURL* easy, CURLoption option, Value value, const char* name) {
    const CURLcode code = curl_easy_setopt(easy, option, value);
    if (code != CURLE_OK) {
        throw Error(Status::internal, std::string("libcurl rejected option ") + name + ": " + curl_easy_strerror(code));
    }
}

}  // namespace

std::optional<std::string> Response::header(const std::string& lower_name) const {
    for (const auto& [name, value] : headers) {
        if (name == lower_name) return value;
    }
    return std::nullopt;
}

struct Client::Impl {
    ClientOptions options;
    SharePtr share;
    // One lock per kind of shared data, as curl_share_setopt requires.
    std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;

    std::mutex pool_mutex;
    std::vector<HandlePair> idle;

    static void lock_share(CURL*, curl_lock_data data, curl_lock_access, void* user) noexcept {
        auto* impl = static_cast<Impl*>(user);
        impl->share_locks[static_cast<std::size_t>(data) % impl->share_locks.size()].lock();
    }
    static void unlock_share(CURL*, curl_lock_data data, void* user) noexcept {
        auto* impl = static_cast<Impl*>(user);
        impl->share_locks[static_cast<std::size_t>(data) % impl->share_locks.size()].unlock();
    }

    HandlePair acquire() {
        {
            std::lock_guard<std::mutex> lock(pool_mutex);
            if (!idle.empty()) {
                HandlePair pair = std::move(idle.back());
                idle.pop_back();
                return pair;
            }
        }
        HandlePair pair{EasyPtr(curl_easy_init()), MultiPtr(curl_multi_init())};
        if (!pair.easy || !pair.multi) throw Error(Status::out_of_memory, "cannot create a libcurl handle");
        return pair;
    }

    void release(HandlePair pair) {
        // Reset drops every option (and so every pointer into the finished request)
        // but keeps the open connections and caches.
        curl_easy_reset(pair.easy.get());
        std::lock_guard<std::mutex> lock(pool_mutex);
        if (idle.size() < kMaxIdleHandles) idle.push_back(std::move(pair));
    }

    void configure(CURL* easy, const Request& request, curl_slist* headers, TransferState& state,
                   char* error_buffer) const {
        set_option(easy, CURLOPT_URL, request.url.c_str(), "URL");
        set_option(easy, CURLOPT_PROTOCOLS_STR, "http,https", "PROTOCOLS_STR");
        set_option(easy, CURLOPT_NOSIGNAL, 1L, "NOSIGNAL");
        set_option(easy, CURLOPT_SHARE, share.get(), "SHARE");
        set_option(easy, CURLOPT_ERRORBUFFER, error_buffer, "ERRORBUFFER");
        set_option(easy, CURLOPT_FOLLOWLOCATION, 0L, "FOLLOWLOCATION");
        set_option(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1), "HTTP_VERSION");
        // An empty string requests every encoding this libcurl can decode (gzip at least).
        set_option(easy, CURLOPT_ACCEPT_ENCODING, "", "ACCEPT_ENCODING");
        set_option(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()), "TIMEOUT_MS");
        set_option(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()),
                   "CONNECTTIMEOUT_MS");
        set_option(easy, CURLOPT_TCP_KEEPALIVE, 1L, "TCP_KEEPALIVE");
        set_option(easy, CURLOPT_USERAGENT, options.user_agent.c_str(), "USERAGENT");
        set_option(easy, CURLOPT_SSL_VERIFYPEER, 1L, "SSL_VERIFYPEER");
        set_option(easy, CURLOPT_SSL_VERIFYHOST, 2L, "SSL_VERIFYHOST");
        if (!options.ca_bundle.empty()) set_option(easy, CURLOPT_CAINFO, options.ca_bundle.c_str(), "CAINFO");
        set_option(easy, CURLOPT_HTTPHEADER, headers, "HTTPHEADER");

        if (request.method == "POST") {
            set_option(easy, CURLOPT_POST, 1L, "POST");
            set_option(easy, CURLOPT_POSTFIELDS, request.body.data(), "POSTFIELDS");
            set_option(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()),
                       "POSTFIELDSIZE_LARGE");
        } else {
            set_option(easy, CURLOPT_HTTPGET, 1L, "HTTPGET");
        }

        set_option(easy, CURLOPT_HEADERFUNCTION, &on_header, "HEADERFUNCTION");
        set_option(easy, CURLOPT_HEADERDATA, &state, "HEADERDATA");
        set_option(easy, CURLOPT_WRITEFUNCTION, &on_body, "WRITEFUNCTION");
        set_option(easy, CURLOPT_WRITEDATA, &state, "WRITEDATA");
        set_option(easy, CURLOPT_NOPROGRESS, 0L, "NOPROGRESS");
        set_option(easy, CURLOPT_XFERINFOFUNCTION, &on_progress, "XFERINFOFUNCTION");
        set_option(easy, CURLOPT_XFERINFODATA, &state, "XFERINFODATA");
    }

    // Drives one transfer on the pair's multi handle; returns curl's result for it.
    static CURLcode run(HandlePair& pair, TransferState& state) {
        CURL* easy = pair.easy.get();
        CURLM* multi = pair.multi.get();
        if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
            throw Error(Status::internal, "libcurl could not start a transfer");
        }
        CURLcode result = CURLE_OK;
        bool finished = false;
        while (!finished) {
            int running = 0;
            const CURLMcode perform_code = curl_multi_perform(multi, &running);
            if (perform_code != CURLM_OK) {
                result = CURLE_SEND_ERROR;
                break;
            }
            int queued = 0;
            while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
                if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
                    result = message->data.result;
                    finished = true;
                }
            }
            if (finished) break;
            if (state.callback_exception) {
                result = CURLE_ABORTED_BY_CALLBACK;
                break;
            }
            if (state.cancel != nullptr && state.cancel->cancelled()) {
                state.cancelled = true;
                result = CURLE_ABORTED_BY_CALLBACK;
                break;
            }
            if (curl_multi_poll(multi, nullptr, 0, kPollIntervalMs, nullptr) != CURLM_OK) {
                result = CURLE_RECV_ERROR;
                break;
            }
        }
        // Removing an unfinished transfer closes its connection, which aborts it.
        curl_multi_remove_handle(multi, easy);
        return result;
    }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
    init_curl_once();
    impl_->options = std::move(options);
    if (impl_->options.max_response_bytes == 0) {
        throw Error(Status::invalid_argument, "max_response_bytes must be at least 1.");
    }
    impl_->share.reset(curl_share_init());
    if (!impl_->share) throw Error(Status::out_of_memory, "cannot create a libcurl share handle");
    CURLSH* share = impl_->share.get();
    bool ok = curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Impl::lock_share) == CURLSHE_OK;
    ok = ok && curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Impl::unlock_share) == CURLSHE_OK;
    ok = ok && curl_share_setopt(share, CURLSHOPT_USERDATA, impl_.get()) == CURLSHE_OK;
    ok = ok && curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK;
    ok = ok && curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
    if (!ok) throw Error(Status::internal, "libcurl failed to set up the shared DNS and TLS session cache");
}

Client::~Client() {
    if (!impl_) return;
    // Easy handles refer to the share handle, so they go first.
    impl_->idle.clear();
    impl_->share.reset();
}

Response Client::perform(const Request& request, const CancelToken* cancel) {
    validate(request);
    if (cancel != nullptr && cancel->cancelled()) {
        throw TransportError(TransportFailure{Status::cancelled, true,
                                              "request to " + describe_host(request.url) + " was cancelled"});
    }

    const auto started = std::chrono::steady_clock::now();
    Response response;
    TransferState state;
    state.response = &response;
    state.max_response_bytes = impl_->options.max_response_bytes;
    state.cancel = cancel;

    SlistPtr headers = build_header_list(request);
    std::array<char, CURL_ERROR_SIZE> error_buffer{};

    HandlePair pair = impl_->acquire();
    CURLcode code = CURLE_OK;
    try {
        impl_->configure(pair.easy.get(), request, headers.get(), state, error_buffer.data());
        code = Impl::run(pair, state);
    } catch (...) {
        impl_->release(std::move(pair));
        throw;
    }

    TransportFailure failure;
    if (code != CURLE_OK && !state.callback_exception) {
        failure = describe_failure(code, pair.easy.get(), error_buffer.data(), request, state,
                                   impl_->options.max_response_bytes);
    } else if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(pair.easy.get(), CURLINFO_RESPONSE_CODE, &status);
        response.status = status;
    }
    impl_->release(std::move(pair));

    if (state.callback_exception) std::rethrow_exception(state.callback_exception);
    if (code != CURLE_OK) throw TransportError(std::move(failure));
    if (log::logger().should_log(spdlog::level::trace)) {
        const auto elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started);
        SP_TRACE("HTTP {} {} returned {} ({} bytes) in {} ms", request.method, describe_host(request.url, true),
                 response.status, response.body.size(), elapsed.count());
    }
    return response;
}

}  // namespace swarmpod::http
