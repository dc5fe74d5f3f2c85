using System;
using SwarmPod.Native;
using SwarmUI.Utils;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Writes the waiting of one generation (for a worker, its cold start, its SwarmUI and the model) to SwarmUI's
/// log at Info level, such as "Waking RunPod worker (42 s, about 30 s left)".</summary>
/// <remarks>SwarmUI 0.9.8's Generate tab shows no text that a backend sends: for gen_progress it reads only the percents,
/// the preview and the metadata. Its own backends report long waits (a self-starting backend still loading) through the
/// server log, which SwarmUI shows under Server → Logs, so this class does the same. It stays silent until the generation
/// has waited <see cref="QuietFor"/>, so generations on a warm worker log nothing. After that it writes a line at each
/// phase change and at most one per <see cref="RepeatEvery"/> within a phase.</remarks>
public sealed class RunPodServerlessWaitLog(string subject)
{
    /// <summary>Time a generation waits before the first line, longer than a warm worker takes to start generating.</summary>
    public static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(5);

    /// <summary>Shortest time between two lines about the same phase.</summary>
    public static readonly TimeSpan RepeatEvery = TimeSpan.FromSeconds(15);

    /// <summary>The phase of the last line written, or null before the first.</summary>
    private SwarmPodPhase? _loggedPhase;

    /// <summary>Elapsed time of the generation at the last line written.</summary>
    private TimeSpan _loggedAt;

    /// <summary>Logs the event when it is a wait worth a line, as the class remarks describe.</summary>
    /// <remarks>Called on the generating thread only, one event at a time.</remarks>
    public void Report(SwarmPodProgress progress)
    {
        bool waiting = progress.Phase is SwarmPodPhase.Queued or SwarmPodPhase.StartingWorker or SwarmPodPhase.LoadingBackends or SwarmPodPhase.LoadingModel;
        if (!waiting)
        {
            // One line when generating begins after a logged wait, so the log shows the wait ended.
            if (progress.Phase == SwarmPodPhase.Generating && _loggedPhase is not null and not SwarmPodPhase.Generating)
            {
                Write(progress);
            }

            return;
        }

        if (progress.Elapsed < QuietFor)
        {
            return;
        }

        if (_loggedPhase == progress.Phase && progress.Elapsed - _loggedAt < RepeatEvery)
        {
            return;
        }

        Write(progress);
    }

    /// <summary>Writes one line and remembers its phase and time.</summary>
    private void Write(SwarmPodProgress progress)
    {
        _loggedPhase = progress.Phase;
        _loggedAt = progress.Elapsed;
        Logs.Info($"[RunPodServerless] {subject}: {RunPodServerlessOutput.StatusText(progress)}");
    }
}
