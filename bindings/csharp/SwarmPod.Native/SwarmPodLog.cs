using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using SwarmPod.Native.Interop;

namespace SwarmPod.Native;

/// <summary>Process-wide routing of libswarmpod's log lines to a managed callback.</summary>
public static unsafe class SwarmPodLog
{
    private static readonly object SetLock = new();

    // Kept in a static field so that the delegate stays reachable for as long as the library may call it.
    private static volatile Action<SwarmPodLogLevel, string>? s_callback;

    private static long s_callbackFailures;

    /// <summary>Number of log lines whose callback threw; those exceptions are dropped because the
    /// library calls the callback from its own threads, where no caller could receive them.</summary>
    public static long CallbackFailureCount => Interlocked.Read(ref s_callbackFailures);

    /// <summary>Sets the callback that receives every log line at or above <paramref name="minimumLevel"/>.</summary>
    /// <remarks>The library calls it from any of its threads, possibly from several at once, so it must be
    /// thread-safe. Lines arrive with API keys and worker tokens already replaced by "***".
    /// Until this is called the library logs nothing.</remarks>
    /// <param name="callback">Receives the level and the text of each line; null turns logging off.</param>
    /// <param name="minimumLevel">Lowest level delivered.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minimumLevel"/> is not a defined level.</exception>
    public static void SetCallback(Action<SwarmPodLogLevel, string>? callback, SwarmPodLogLevel minimumLevel = SwarmPodLogLevel.Info)
    {
        if (!Enum.IsDefined(minimumLevel))
        {
            throw new ArgumentOutOfRangeException(
                nameof(minimumLevel), minimumLevel, $"Log level {(int)minimumLevel} is not defined; use one of the SwarmPodLogLevel values (Trace to Off).");
        }

        NativeLibraryLoader.EnsureLoaded();
        lock (SetLock)
        {
            Action<SwarmPodLogLevel, string>? previous = s_callback;

            // Store the delegate first so that lines logged while the native call runs already reach it.
            s_callback = callback;
            delegate* unmanaged[Cdecl]<nint, int, byte*, void> bridge = callback is null ? null : &OnLog;
            int status = NativeMethods.swarmpod_set_log_callback(bridge, 0, (int)minimumLevel);
            if (status != 0)
            {
                string detail = Ensure.LastErrorMessage();
                s_callback = previous;
                throw Ensure.Failure(status, detail, secrets: null, resultJson: null);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(nint userData, int level, byte* message)
    {
        try
        {
            Action<SwarmPodLogLevel, string>? callback = s_callback;
            if (callback is null)
            {
                return;
            }

            string text = Marshal.PtrToStringUTF8((nint)message) ?? "";
            callback((SwarmPodLogLevel)level, text);
        }
        catch (Exception)
        {
            // An exception must not unwind into the library's frames.
            Interlocked.Increment(ref s_callbackFailures);
        }
    }
}
