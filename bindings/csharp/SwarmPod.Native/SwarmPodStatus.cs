namespace SwarmPod.Native;

/// <summary>Status codes of the libswarmpod C ABI. Each value equals its SWARMPOD_* code in swarmpod.h.</summary>
public enum SwarmPodStatus
{
    /// <summary>SWARMPOD_OK: the call succeeded.</summary>
    Ok = 0,

    /// <summary>SWARMPOD_E_INVALID_ARGUMENT: a NULL or malformed argument, such as invalid request JSON.</summary>
    InvalidArgument = -1,

    /// <summary>SWARMPOD_E_INVALID_CONFIG: the config JSON is invalid; the message names the field.</summary>
    InvalidConfig = -2,

    /// <summary>SWARMPOD_E_OUT_OF_MEMORY: the library could not allocate memory.</summary>
    OutOfMemory = -3,

    /// <summary>SWARMPOD_E_INTERNAL: a bug in libswarmpod.</summary>
    Internal = -4,

    /// <summary>SWARMPOD_E_NETWORK: DNS failure, refused or reset connection, or unreachable host.</summary>
    Network = -5,

    /// <summary>SWARMPOD_E_TIMEOUT: the startup, generation or HTTP deadline passed.</summary>
    Timeout = -6,

    /// <summary>SWARMPOD_E_CANCELLED: the caller cancelled the generation.</summary>
    Cancelled = -7,

    /// <summary>SWARMPOD_E_AUTH: RunPod rejected the API key (HTTP 401 or 403).</summary>
    Auth = -8,

    /// <summary>SWARMPOD_E_NOT_FOUND: the RunPod endpoint or job does not exist (HTTP 404).</summary>
    NotFound = -9,

    /// <summary>SWARMPOD_E_RATE_LIMITED: RunPod returned 429 after every retry.</summary>
    RateLimited = -10,

    /// <summary>SWARMPOD_E_SERVER: RunPod returned a 5xx error after every retry.</summary>
    Server = -11,

    /// <summary>SWARMPOD_E_BAD_RESPONSE: a reply was not JSON or lacked a required field, or the API base URL is not a RunPod queue API.</summary>
    BadResponse = -12,

    /// <summary>SWARMPOD_E_JOB_FAILED: a RunPod job ended FAILED, CANCELLED or TIMED_OUT without a cancel request.</summary>
    JobFailed = -13,

    /// <summary>SWARMPOD_E_WORKER: the SwarmUI on the worker reported an error.</summary>
    Worker = -14,

    /// <summary>SWARMPOD_E_WORKER_URL_REJECTED: the worker reported a URL outside the allow-list.</summary>
    WorkerUrlRejected = -15,

    /// <summary>SWARMPOD_E_IMAGE_INVALID: an image from the worker is corrupt, truncated or of the wrong type.</summary>
    ImageInvalid = -16,

    /// <summary>SWARMPOD_E_NO_API_KEY: no RunPod API key was given in the config or for the call.</summary>
    NoApiKey = -17,

    /// <summary>SWARMPOD_E_TLS: the certificate is not trusted or the host name does not match.</summary>
    Tls = -18,

    /// <summary>SWARMPOD_E_TOO_LARGE: a response or message exceeded the configured limit.</summary>
    TooLarge = -19,

    /// <summary>SWARMPOD_E_SHUTTING_DOWN: the backend is being freed and takes no new work.</summary>
    ShuttingDown = -20,
}
