namespace SwarmPod.Native;

/// <summary>Log level of libswarmpod; values equal SWARMPOD_LOG_*.</summary>
public enum SwarmPodLogLevel
{
    /// <summary>Detailed tracing, such as each HTTP request.</summary>
    Trace = 0,

    /// <summary>Diagnostic detail.</summary>
    Debug = 1,

    /// <summary>Normal operation: workers started and released, generations finished.</summary>
    Info = 2,

    /// <summary>Recoverable problems, such as a retried request.</summary>
    Warn = 3,

    /// <summary>Failures.</summary>
    Error = 4,

    /// <summary>No logging; valid only as a minimum level.</summary>
    Off = 6,
}
