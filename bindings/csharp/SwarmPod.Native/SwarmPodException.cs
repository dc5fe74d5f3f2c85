using System;

namespace SwarmPod.Native;

/// <summary>A libswarmpod call that returned a failure status.</summary>
public sealed class SwarmPodException : Exception
{
    /// <summary>Creates an exception for a failed call.</summary>
    /// <param name="status">The status the native call returned.</param>
    /// <param name="message">The library's detail message, already free of API keys.</param>
    /// <param name="resultJson">The JSON summary the call produced, if any.</param>
    public SwarmPodException(SwarmPodStatus status, string message, string? resultJson = null)
        : base(message)
    {
        Status = status;
        ResultJson = resultJson;
    }

    /// <summary>Status code of the failed call; its numeric value equals the C code.</summary>
    public SwarmPodStatus Status { get; }

    /// <summary>JSON summary that swarmpod_generate writes on failure (job ids, timings), or null.</summary>
    public string? ResultJson { get; }
}
