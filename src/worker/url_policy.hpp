// The allow-list for the public URL a worker reports about itself. The URL comes from
// the worker's job output, so it is untrusted: a wrong one could send our requests
// (and a lease token) to any host.
#pragma once

#include <string>

namespace swarmpod::worker {

struct UrlPolicy {
    // Also accept http:// URLs on loopback (127.0.0.0/8, ::1, localhost), for the local
    // emulator and tests. Never accepts other hosts over plain HTTP.
    bool allow_insecure_loopback = false;
};

// Returns the URL normalised (no trailing slash) when it is allowed, else throws
// Error(worker_url_rejected) naming the URL (without any credentials part) and the rule.
// Allowed by default: https://<pod id>-<port>.proxy.runpod.net with an optional path,
// no credentials, no query, no fragment.
std::string check_worker_url(const std::string& url, const UrlPolicy& policy);

}  // namespace swarmpod::worker
