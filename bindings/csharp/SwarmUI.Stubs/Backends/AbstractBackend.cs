using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using FreneticUtilities.FreneticDataSyntax;

namespace SwarmUI.Backends;

/// <summary>Stub of SwarmUI's backend base class.</summary>
public abstract class AbstractBackend
{
    /// <summary>Starts the backend; returns once it is ready or throws.</summary>
    public abstract Task Init();

    /// <summary>Frees everything the backend holds.</summary>
    public abstract Task Shutdown();

    /// <summary>Current status.</summary>
    public volatile BackendStatus Status = BackendStatus.WAITING;

    /// <summary>Load status messages, shown in the UI.</summary>
    public class LoadStatus
    {
        /// <summary>The message.</summary>
        public string Message;

        /// <summary>Unix time in milliseconds.</summary>
        public long Time;
    }

    /// <summary>Maximum number of generations this backend runs at once.</summary>
    public int MaxUsages = 1;

    /// <summary>Load messages so far.</summary>
    public List<LoadStatus> LoadStatusReport = [];

    /// <summary>Adds a load message.</summary>
    public void AddLoadStatus(string message)
    {
        LoadStatusReport.Add(new LoadStatus { Message = message, Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
    }

    /// <summary>Feature flags this backend supports.</summary>
    public abstract IEnumerable<string> SupportedFeatures { get; }

    /// <summary>Instance of the backend's nested settings class.</summary>
    public AutoConfiguration SettingsRaw;

    /// <summary>Display title.</summary>
    public string Title = "";

    /// <summary>False for placeholder backends that never generate.</summary>
    public bool CanLoadModels = true;

    /// <summary>The handler's data about this backend, including its id; null for a backend created outside a handler.</summary>
    public BackendHandler.BackendData AbstractBackendData;

    /// <summary>The type this backend was registered as.</summary>
    public BackendHandler.BackendType HandlerTypeData => AbstractBackendData.BackType;

    /// <summary>The handler that owns this backend.</summary>
    public BackendHandler Handler;
}

/// <summary>Backend states.</summary>
public enum BackendStatus
{
    /// <summary>Disabled by the user.</summary>
    DISABLED,

    /// <summary>Failed to start.</summary>
    ERRORED,

    /// <summary>Not started yet.</summary>
    WAITING,

    /// <summary>Starting.</summary>
    LOADING,

    /// <summary>Started but not usable now.</summary>
    IDLE,

    /// <summary>Ready for generations.</summary>
    RUNNING,
}
