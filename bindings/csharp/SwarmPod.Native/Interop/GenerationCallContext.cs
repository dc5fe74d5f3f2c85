using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;

namespace SwarmPod.Native.Interop;

/// <summary>State of one swarmpod_generate call, reached from the native callbacks through a GCHandle.</summary>
internal sealed class GenerationCallContext(Action<SwarmPodProgress>? onProgress, Action<SwarmPodImage>? onImage)
{
    /// <summary>Managed progress callback, or null.</summary>
    public Action<SwarmPodProgress>? OnProgress { get; } = onProgress;

    /// <summary>Managed image callback, or null.</summary>
    public Action<SwarmPodImage>? OnImage { get; } = onImage;

    /// <summary>Every image delivered so far.</summary>
    public List<SwarmPodImage> Images { get; } = [];

    /// <summary>First exception thrown inside a callback, rethrown once the native call returns.</summary>
    public ExceptionDispatchInfo? Failure { get; private set; }

    /// <summary>Records the first callback exception; later ones are consequences of the cancellation it causes.</summary>
    public void Fail(Exception exception)
    {
        Failure ??= ExceptionDispatchInfo.Capture(exception);
    }
}
