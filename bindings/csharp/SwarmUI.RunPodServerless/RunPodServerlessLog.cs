using System;
using SwarmPod.Native;
using SwarmUI.Utils;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Forwards libswarmpod's log lines to SwarmUI's <see cref="Logs"/>.</summary>
public static class RunPodServerlessLog
{
    /// <summary>Starts forwarding lines at debug level and above.</summary>
    /// <remarks>A missing native library is logged here rather than thrown, so that SwarmUI still starts;
    /// the backend reports the same error when it initializes.</remarks>
    public static void Attach()
    {
        try
        {
            SwarmPodLog.SetCallback(Forward, SwarmPodLogLevel.Debug);
        }
        catch (Exception ex) when (ex is DllNotFoundException or InvalidOperationException)
        {
            Logs.Error($"[RunPodServerless] libswarmpod could not be loaded, so native logging is off and every RunPod Serverless backend will fail to start: {ex.Message}");
        }
    }

    /// <summary>Stops forwarding lines.</summary>
    public static void Detach()
    {
        try
        {
            SwarmPodLog.SetCallback(null);
        }
        catch (Exception ex) when (ex is DllNotFoundException or InvalidOperationException)
        {
            // The library never loaded, so no callback is registered.
        }
    }

    /// <summary>Passes one native line to the <see cref="Logs"/> method of the same level.</summary>
    private static void Forward(SwarmPodLogLevel level, string line)
    {
        string message = $"[RunPodServerless] [native] {line}";
        switch (level)
        {
            case SwarmPodLogLevel.Trace:
                Logs.Verbose(message);
                break;
            case SwarmPodLogLevel.Debug:
                Logs.Debug(message);
                break;
            case SwarmPodLogLevel.Info:
                Logs.Info(message);
                break;
            case SwarmPodLogLevel.Warn:
                Logs.Warning(message);
                break;
            default:
                Logs.Error(message);
                break;
        }
    }
}
