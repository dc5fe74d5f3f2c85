using System.Collections.Concurrent;

namespace SwarmUI.Utils;

/// <summary>Stub of SwarmUI's logger; it records each line so tests can read them.</summary>
public static class Logs
{
    /// <summary>Stub-only: every logged line with its level.</summary>
    public static ConcurrentQueue<(LogLevel Level, string Message)> Recorded = new();

    /// <summary>Log levels; Init ranks above Info.</summary>
    public enum LogLevel
    {
        /// <summary>Very detailed.</summary>
        Verbose,

        /// <summary>Debugging.</summary>
        Debug,

        /// <summary>Normal.</summary>
        Info,

        /// <summary>Startup messages.</summary>
        Init,

        /// <summary>Problems.</summary>
        Warning,

        /// <summary>Failures.</summary>
        Error,

        /// <summary>Nothing.</summary>
        None,
    }

    /// <summary>Logs a verbose line.</summary>
    public static void Verbose(string message)
    {
        Recorded.Enqueue((LogLevel.Verbose, message));
    }

    /// <summary>Logs a debug line.</summary>
    public static void Debug(string message)
    {
        Recorded.Enqueue((LogLevel.Debug, message));
    }

    /// <summary>Logs an info line.</summary>
    public static void Info(string message)
    {
        Recorded.Enqueue((LogLevel.Info, message));
    }

    /// <summary>Logs a startup line.</summary>
    public static void Init(string message)
    {
        Recorded.Enqueue((LogLevel.Init, message));
    }

    /// <summary>Logs a warning.</summary>
    public static void Warning(string message)
    {
        Recorded.Enqueue((LogLevel.Warning, message));
    }

    /// <summary>Logs an error.</summary>
    public static void Error(string message)
    {
        Recorded.Enqueue((LogLevel.Error, message));
    }
}
