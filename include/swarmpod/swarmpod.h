/*
 * swarmpod.h: the C ABI of libswarmpod, a SwarmUI backend that generates images on
 * RunPod Serverless workers.
 *
 * Conventions
 * - Every function returns an int32_t status: SWARMPOD_OK (0) or a negative
 *   SWARMPOD_E_* code. Codes are append-only; a code never changes meaning.
 * - After a failed call, swarmpod_last_error_message() returns a sentence that names
 *   the value at fault and the fix. The text is per thread: read it on the thread
 *   that made the failed call, before that thread makes another swarmpod call.
 * - Handles are opaque. Each *_new has one *_free; every *_free accepts NULL.
 *   Using a handle after its *_free is undefined behaviour. swarmpod_generate and
 *   swarmpod_endpoint_health detect most freed backends and return
 *   SWARMPOD_E_INVALID_ARGUMENT, but that check is best effort and no guarantee.
 * - Size caps: config_json up to 1 MiB, request_json up to 256 MiB, api_key up to
 *   4096 bytes; a longer string fails with SWARMPOD_E_TOO_LARGE. JSON nested deeper
 *   than 256 arrays or objects fails with SWARMPOD_E_INVALID_CONFIG (config) or
 *   SWARMPOD_E_INVALID_ARGUMENT (request). JSON text must be valid UTF-8.
 * - Input strings are UTF-8, NUL-terminated, and copied on entry: the caller may free
 *   them as soon as the call returns.
 * - A char* returned through an out-parameter is owned by the caller and is freed
 *   with swarmpod_string_free(). Pointers inside callback structs are borrowed and
 *   valid only until the callback returns.
 * - No exception, C++ type or bool crosses this boundary; flags are int32_t (0 or 1).
 */
#ifndef SWARMPOD_H
#define SWARMPOD_H

#include <stddef.h>
#include <stdint.h>

#include "swarmpod_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define SWARMPOD_VERSION_MAJOR 0
#define SWARMPOD_VERSION_MINOR 1
#define SWARMPOD_VERSION_PATCH 0
/* The header's version as one number: major * 10000 + minor * 100 + patch. */
#define SWARMPOD_VERSION \
    (SWARMPOD_VERSION_MAJOR * 10000 + SWARMPOD_VERSION_MINOR * 100 + SWARMPOD_VERSION_PATCH)

/*
 * Returns the version of the loaded library, encoded as SWARMPOD_VERSION is.
 * A binding built against this header works with a library of the same major
 * version and a minor version at least as high. Any thread; never fails.
 */
SWARMPOD_API uint32_t SWARMPOD_CALL swarmpod_version(void);

/* Returns the library version as "major.minor.patch"; a static string. */
SWARMPOD_API const char *SWARMPOD_CALL swarmpod_version_string(void);

/* ----------------------------------------------------------- status codes */

#define SWARMPOD_OK 0
/* A NULL or malformed argument, such as invalid request JSON. */
#define SWARMPOD_E_INVALID_ARGUMENT (-1)
/* The config JSON is invalid; the message names the field and the fix. */
#define SWARMPOD_E_INVALID_CONFIG (-2)
#define SWARMPOD_E_OUT_OF_MEMORY (-3)
/* A bug in libswarmpod; the message has the details. */
#define SWARMPOD_E_INTERNAL (-4)
/* The connection failed: DNS, refused, reset, or unreachable host. */
#define SWARMPOD_E_NETWORK (-5)
/* A deadline passed: startup, generation or one HTTP call. */
#define SWARMPOD_E_TIMEOUT (-6)
/* The caller cancelled the generation. */
#define SWARMPOD_E_CANCELLED (-7)
/* RunPod rejected the API key (HTTP 401 or 403). */
#define SWARMPOD_E_AUTH (-8)
/* The RunPod endpoint or job does not exist (HTTP 404). */
#define SWARMPOD_E_NOT_FOUND (-9)
/* RunPod answered 429 after every retry. */
#define SWARMPOD_E_RATE_LIMITED (-10)
/* RunPod answered with a server error (5xx) after every retry. */
#define SWARMPOD_E_SERVER (-11)
/* A reply was not JSON or lacked a required field, or the API base URL is not a RunPod
 * queue API (HTTP 404 from a base whose path does not end in /v2). */
#define SWARMPOD_E_BAD_RESPONSE (-12)
/* A RunPod job ended FAILED, CANCELLED or TIMED_OUT without our asking. */
#define SWARMPOD_E_JOB_FAILED (-13)
/* The SwarmUI on the worker reported an error; the message quotes it. */
#define SWARMPOD_E_WORKER (-14)
/* The worker reported a URL outside the allow-list; nothing was sent there. */
#define SWARMPOD_E_WORKER_URL_REJECTED (-15)
/* An image from the worker is corrupt, truncated or of the wrong type. The request's other
 * images are still received and handed to on_image before this is returned. */
#define SWARMPOD_E_IMAGE_INVALID (-16)
/* No RunPod API key was given in the config or for the call. */
#define SWARMPOD_E_NO_API_KEY (-17)
/* TLS failed: certificate not trusted or host name mismatch. */
#define SWARMPOD_E_TLS (-18)
/* A response or message was larger than the configured limit. */
#define SWARMPOD_E_TOO_LARGE (-19)
/* The backend is being freed and takes no new work. */
#define SWARMPOD_E_SHUTTING_DOWN (-20)

/*
 * Returns a short static description of a status code ("invalid config", ...).
 * Unknown codes return "unknown status". Any thread; never NULL.
 */
SWARMPOD_API const char *SWARMPOD_CALL swarmpod_strerror(int32_t status);

/*
 * Returns the detail message of the last failed swarmpod call on this thread, or ""
 * when the last call succeeded. Borrowed: valid until this thread's next swarmpod call.
 * The message never contains an API key or a worker token.
 */
SWARMPOD_API const char *SWARMPOD_CALL swarmpod_last_error_message(void);

/* Frees a string returned by this library through an out-parameter. NULL is a no-op. */
SWARMPOD_API void SWARMPOD_CALL swarmpod_string_free(char *str);

/* ---------------------------------------------------------------- logging */

#define SWARMPOD_LOG_TRACE 0
#define SWARMPOD_LOG_DEBUG 1
#define SWARMPOD_LOG_INFO 2
#define SWARMPOD_LOG_WARN 3
#define SWARMPOD_LOG_ERROR 4
#define SWARMPOD_LOG_OFF 6

/*
 * Receives one log line. `message` is borrowed for the duration of the call and is
 * already redacted: API keys and worker tokens are replaced by "***".
 * Called on any library thread, one line at a time (calls are serialized). It must
 * not call any swarmpod_ function: the library may hold its own locks while it logs,
 * so such a call can deadlock. Hand the line to another thread if it must lead to one.
 */
typedef void(SWARMPOD_CALL *swarmpod_log_fn)(void *user_data, int32_t level, const char *message);

/*
 * Sets the process-wide log callback and the minimum level it receives.
 * `callback` NULL turns logging off. Until this is called the library logs nothing.
 * Any thread. Returns SWARMPOD_E_INVALID_ARGUMENT for an unknown level.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_set_log_callback(swarmpod_log_fn callback, void *user_data,
                                                            int32_t min_level);

/* ---------------------------------------------------------------- backend */

/* One configured RunPod Serverless endpoint, with its workers and caches. */
typedef struct swarmpod_backend swarmpod_backend;

/*
 * Creates a backend from a JSON object of settings:
 *   EndpointId (string, required), RunPodApiKey (string, optional),
 *   ApiBaseUrl (string, default "https://api.runpod.ai/v2"),
 *   UseAsync (bool, true), MaxConcurrent (int, 10), PollIntervalMs (int, 2000),
 *   StartupTimeoutSec (int, 120), GenerationTimeoutSec (int, 300),
 *   AutoRefresh (bool, false), KeepWarmSec (int), WorkerProtocol ("auto"|"v1"|"v2"),
 *   AllowInsecureWorkerUrls (bool, false), CaBundle (string path),
 *   UseWebSocket (bool, true), MaxWebSocketMessageMiB (int, 256: the largest
 *   WebSocket message, so the largest base64 image, accepted; 1 to 2048),
 *   ModelCachePath (string), CostPerGpuSecond (number).
 * Unknown fields and invalid values fail with SWARMPOD_E_INVALID_CONFIG and a message
 * naming the field. Creating a backend starts no job. When RunPodApiKey is set it
 * cancels, on a background thread, the jobs that an earlier process of this
 * installation started and left running (a crash); those jobs are listed in the job
 * journal under ModelCachePath (default $XDG_CACHE_HOME/swarmpod or ~/.cache/swarmpod).
 * Orphans started with a per-call key are cancelled when that key is next used.
 * On success *out owns the backend; free it with swarmpod_backend_free.
 * Any thread.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_backend_new(const char *config_json, swarmpod_backend **out);

/*
 * Frees a backend. It cancels every running generation, waits for those calls to
 * return, and ends every RunPod job the backend started (keepalive jobs are cancelled
 * so billing stops). Cancelled calls normally return within a second. RunPod jobs are
 * then ended within about 15 seconds, even when RunPod does not respond, and jobs it
 * could not end are logged at error level. A call held by a host callback that does
 * not return is waited for without limit: after 10 seconds its worker is ended, but
 * the backend is freed only once that callback returns. NULL is a no-op.
 * Call it once, from any thread; the handle is invalid afterwards.
 */
SWARMPOD_API void SWARMPOD_CALL swarmpod_backend_free(swarmpod_backend *backend);

/* ------------------------------------------------------------- generation */

/*
 * A cancellation handle for one swarmpod_generate call. Create it before the call,
 * pass it in, and call swarmpod_generation_cancel from any thread to stop the call.
 */
typedef struct swarmpod_generation swarmpod_generation;

/* Creates a cancellation handle. *out is freed with swarmpod_generation_free. */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_generation_new(swarmpod_generation **out);

/*
 * Requests cancellation. The generate call using this handle returns
 * SWARMPOD_E_CANCELLED promptly; images delivered before stay delivered.
 * Cancelling before the call starts makes the call return at once. Any thread;
 * safe to call several times. NULL is a no-op.
 */
SWARMPOD_API void SWARMPOD_CALL swarmpod_generation_cancel(swarmpod_generation *generation);

/*
 * Frees a cancellation handle. Free it only after the generate call that uses it has
 * returned. NULL is a no-op.
 */
SWARMPOD_API void SWARMPOD_CALL swarmpod_generation_free(swarmpod_generation *generation);

/* Phases of a generation, in the order they normally occur. */
#define SWARMPOD_PHASE_QUEUED 0           /* waiting for RunPod to start a worker */
#define SWARMPOD_PHASE_STARTING_WORKER 1  /* a worker is booting (cold start) */
#define SWARMPOD_PHASE_LOADING_BACKENDS 2 /* the worker's SwarmUI is loading its backends */
#define SWARMPOD_PHASE_LOADING_MODEL 3    /* the worker is loading the model */
#define SWARMPOD_PHASE_GENERATING 4       /* sampling; percents are meaningful */
#define SWARMPOD_PHASE_DONE 5             /* every image was delivered */

/* One progress event. All pointers are borrowed for the duration of the callback. */
typedef struct swarmpod_progress {
    uint32_t struct_size;         /* sizeof(swarmpod_progress) of the library */
    int32_t phase;                /* SWARMPOD_PHASE_* */
    int32_t batch_index;          /* image index within the request, or -1 */
    double elapsed_seconds;       /* since the generate call started */
    double estimated_remaining_seconds; /* of the current phase; negative if unknown */
    double overall_percent;       /* 0..1 of the whole request; negative if unknown */
    double current_percent;       /* 0..1 of the current image; negative if unknown */
    const char *worker_id;        /* RunPod worker id, or NULL before one is known */
    const char *message;          /* human-readable status, e.g. "Waking RunPod worker (12 s)" */
    const uint8_t *preview;       /* preview image bytes, or NULL */
    size_t preview_size;
    const char *preview_mime;     /* e.g. "image/jpeg", or NULL */
    const char *json;             /* this event as a JSON object (without preview bytes) */
} swarmpod_progress;

/*
 * One finished image. All pointers are borrowed for the duration of the callback.
 * Fields after `metadata` were appended later: read one only when struct_size shows
 * that the library's struct contains it.
 */
typedef struct swarmpod_image {
    uint32_t struct_size; /* sizeof(swarmpod_image) of the library */
    int32_t batch_index;  /* index within the request */
    const uint8_t *data;  /* encoded image bytes (PNG, JPEG, WebP, ...) */
    size_t size;
    const char *mime;     /* e.g. "image/png" */
    int32_t width;        /* pixels; 0 when the format could not be read */
    int32_t height;
    int32_t channels;     /* 0 when unknown */
    const char *metadata; /* the worker's metadata JSON string, or NULL */
    /*
     * Estimated GPU-seconds of this generation up to the moment this image arrived: the
     * worker's cold start (when this generation started the worker) or its share of the
     * worker's warm idle time, plus the time since the request was sent to the worker.
     * The summary's gpu_seconds is at least the last image's value. Negative if unknown.
     */
    double gpu_seconds;
} swarmpod_image;

/*
 * Callbacks return 0 to continue, or any other value to cancel the generation
 * (as swarmpod_generation_cancel does). They run on the thread that called
 * swarmpod_generate, one at a time, and must not call swarmpod_generate or
 * swarmpod_backend_free on the same backend.
 */
typedef int32_t(SWARMPOD_CALL *swarmpod_progress_fn)(void *user_data, const swarmpod_progress *event);
typedef int32_t(SWARMPOD_CALL *swarmpod_image_fn)(void *user_data, const swarmpod_image *image);

typedef struct swarmpod_callbacks {
    uint32_t struct_size;             /* set to sizeof(swarmpod_callbacks) */
    swarmpod_progress_fn on_progress; /* may be NULL */
    swarmpod_image_fn on_image;       /* may be NULL, then images are only counted */
    void *user_data;                  /* passed to each callback */
} swarmpod_callbacks;

/*
 * Generates images for one SwarmUI request and blocks until it is done.
 *
 * request_json: a GenerateText2Image body as SwarmUI's T2IParamInput.ToJSON() makes
 *   it. Every field passes through to the worker, except that `images`, `donotsave`
 *   and `session_id` are set and `exactbackendid` and `internalbackendtype` removed.
 *   As in SwarmUI, `images` is the number of jobs and `batchsize` the images each job
 *   makes, so images x batchsize images are expected. Each is a whole number (or a
 *   string of digits) from 1 to 100 and defaults to 1; the product may be at most 100.
 *   Other values give SWARMPOD_E_INVALID_ARGUMENT naming the field. A backend call of
 *   SwarmUI, which runs one job, passes images 1.
 * api_key: the requesting user's RunPod key, or NULL. The backend's RunPodApiKey is
 *   used first; this key is the fallback. With neither, SWARMPOD_E_NO_API_KEY.
 * generation: a cancellation handle, or NULL.
 * callbacks: progress and image callbacks, or NULL.
 * out_result_json: if not NULL, receives a JSON summary on success and on failure
 *   (status, images with mime/width/height/batch_index, worker id, job ids, timings,
 *   GPU-seconds); free it with swarmpod_string_free.
 *
 * Returns SWARMPOD_OK when every requested image was delivered. When a lost WebSocket
 * is reopened, the missing images are requested again in whole jobs, so up to one
 * image per job of that second request may be delivered beyond images x batchsize.
 * The worker then stays held for KeepWarmSec, so the next generation skips the cold
 * start, and its RunPod job is ended after that. A cancelled call, or one whose worker
 * broke, ends the worker's job before it returns, unless another generation on this
 * backend is waiting for a worker. It waits at most 2 s for RunPod to confirm that. A job
 * not confirmed by then is cancelled again by swarmpod_backend_free, which logs it at
 * error level when that fails too.
 * Thread-safe: several generations may run on one backend at once.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_generate(swarmpod_backend *backend, const char *request_json,
                                                    const char *api_key, swarmpod_generation *generation,
                                                    const swarmpod_callbacks *callbacks, char **out_result_json);

/* ------------------------------------------------------------ diagnostics */

/*
 * Reads the endpoint's RunPod /health (which starts no job and bills nothing) and
 * returns it with a diagnosis as a JSON object:
 *   {"endpoint_id", "jobs": {...}, "workers": {...}, "diagnosis": "<case>",
 *    "message": "<what it means and what to do>"}
 * where diagnosis is one of "ready", "no_workers", "initializing", "throttled",
 * "unhealthy", "busy". api_key follows the same rule as swarmpod_generate.
 * *out_json is freed with swarmpod_string_free. Thread-safe.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_endpoint_health(swarmpod_backend *backend, const char *api_key,
                                                           char **out_json);

/* ----------------------------------------------------------------- models */

/*
 * Lists the models of one SwarmUI model subtype ("Stable-Diffusion", "LoRA", "VAE",
 * "Embedding", "ControlNet", "Clip", "ClipVision") as a JSON object:
 *   {"subtype", "source": "cache"|"worker", "updated_at": <unix seconds or null>,
 *    "models": [{"name", "title", "architecture", "class", "standard_width",
 *                "standard_height", "loaded", "local": false, ...}, ...]}
 * refresh 0 returns the list cached for this endpoint (ModelCachePath) and never
 * starts a worker; the list is empty when nothing was cached yet. refresh 1 reads the
 * list from a worker, starting one when none is held (this bills GPU time), and
 * updates the cache. api_key follows the rule of swarmpod_generate (only needed for
 * refresh 1). *out_json is freed with swarmpod_string_free. Thread-safe.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_backend_list_models(swarmpod_backend *backend, const char *subtype,
                                                               int32_t refresh, const char *api_key, char **out_json);

/* ----------------------------------------------------------------- status */

/*
 * Returns a snapshot of the backend as a JSON object: endpoint, protocol, workers
 * (each with id, state, age, in_use, seconds until RunPod started it and until it was
 * ready, estimated billed seconds), counts of warm/starting/max workers, the cost
 * ledger of the last 50 released workers per API key ("released_leases": the same
 * times plus the release, generations, reason and estimated billed seconds), model
 * count, GPU-seconds and estimated cost of this session, the last error, and a
 * "notice" that is empty unless the backend limits itself (for example to one v1 worker
 * at a time when RunPod does not report which worker runs a keepalive job). It never
 * contains an API key or a worker token. Sends nothing over the network.
 * *out_json is freed with swarmpod_string_free. Thread-safe.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_backend_status(swarmpod_backend *backend, char **out_json);

/*
 * Returns the SwarmUI feature flags of the endpoint's workers as a JSON object:
 *   {"features": ["comfyui", "refiners", ...] or null, "updated_at": <unix seconds or null>}
 * The flags are the union of the "features" that the worker's SwarmUI lists for its
 * running backends (ListBackends). They are read only while a worker is held anyway:
 * after each successful generation, after the worker's SwarmUI reported an error for a
 * generation, and at each swarmpod_backend_list_models refresh. They are stored with the
 * model lists under ModelCachePath, so a later backend for the same endpoint starts with
 * them. "features" is null until a worker of this endpoint was read. Sends nothing over
 * the network and never starts a worker.
 * *out_json is freed with swarmpod_string_free. Thread-safe.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_backend_features(swarmpod_backend *backend, char **out_json);

/*
 * Releases one held worker now (ends the job that holds it), unless a generation is
 * using it, in which case it is released when that generation ends. Returns
 * SWARMPOD_E_NOT_FOUND when no held worker has that id. Thread-safe.
 */
SWARMPOD_API int32_t SWARMPOD_CALL swarmpod_backend_stop_worker(swarmpod_backend *backend, const char *worker_id);

#ifdef __cplusplus
}
#endif

#endif /* SWARMPOD_H */
