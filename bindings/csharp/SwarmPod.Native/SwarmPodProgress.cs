using System;

namespace SwarmPod.Native;

/// <summary>One progress event of a generation, copied out of the native event.</summary>
public sealed class SwarmPodProgress
{
    /// <summary>Phase the generation is in.</summary>
    public required SwarmPodPhase Phase { get; init; }

    /// <summary>Image index within the request, or -1 when the event is not about one image.</summary>
    public required int BatchIndex { get; init; }

    /// <summary>Time since the generate call started.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Estimated time left in the current phase, or null when unknown.</summary>
    public required TimeSpan? EstimatedRemaining { get; init; }

    /// <summary>Fraction 0..1 of the whole request, or null when unknown.</summary>
    public required double? OverallPercent { get; init; }

    /// <summary>Fraction 0..1 of the current image, or null when unknown.</summary>
    public required double? CurrentPercent { get; init; }

    /// <summary>RunPod worker id, or null before one is known.</summary>
    public required string? WorkerId { get; init; }

    /// <summary>Human-readable status, such as "Waking RunPod worker (12 s)".</summary>
    public required string Message { get; init; }

    /// <summary>Encoded preview image, or null.</summary>
    public required byte[]? Preview { get; init; }

    /// <summary>MIME type of <see cref="Preview"/>, such as "image/jpeg", or null.</summary>
    public required string? PreviewMime { get; init; }

    /// <summary>The event as the library's JSON object, without preview bytes.</summary>
    public required string Json { get; init; }
}
