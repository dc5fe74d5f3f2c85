namespace SwarmPod.Native;

/// <summary>One finished image, with its bytes copied out of the native buffer.</summary>
public sealed class SwarmPodImage
{
    /// <summary>Image index within the request.</summary>
    public required int BatchIndex { get; init; }

    /// <summary>Encoded image bytes (PNG, JPEG, WebP, ...).</summary>
    public required byte[] Data { get; init; }

    /// <summary>MIME type of <see cref="Data"/>, such as "image/png".</summary>
    public required string Mime { get; init; }

    /// <summary>Width in pixels, or 0 when the library could not read the format.</summary>
    public required int Width { get; init; }

    /// <summary>Height in pixels, or 0 when the library could not read the format.</summary>
    public required int Height { get; init; }

    /// <summary>Channel count, or 0 when unknown.</summary>
    public required int Channels { get; init; }

    /// <summary>The worker's metadata JSON string, or null.</summary>
    public required string? Metadata { get; init; }

    /// <summary>Estimated GPU-seconds of the generation up to the moment this image arrived: the worker's cold start
    /// (when this generation started the worker) or its share of warm idle time, plus the time since the request went to
    /// the worker. Null when unknown, such as from a libswarmpod older than this field.</summary>
    public double? GpuSeconds { get; init; }
}
