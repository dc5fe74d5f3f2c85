namespace SwarmPod.Native;

/// <summary>Phase of a generation, in the order phases normally occur; values equal SWARMPOD_PHASE_*.</summary>
/// <remarks>A newer library may report a value that is not named here; compare numerically in that case.</remarks>
public enum SwarmPodPhase
{
    /// <summary>Waiting for RunPod to start a worker.</summary>
    Queued = 0,

    /// <summary>A worker is booting (cold start).</summary>
    StartingWorker = 1,

    /// <summary>The worker's SwarmUI is loading its backends.</summary>
    LoadingBackends = 2,

    /// <summary>The worker is loading the model.</summary>
    LoadingModel = 3,

    /// <summary>Sampling; the percent values are meaningful.</summary>
    Generating = 4,

    /// <summary>Every image was delivered.</summary>
    Done = 5,
}
