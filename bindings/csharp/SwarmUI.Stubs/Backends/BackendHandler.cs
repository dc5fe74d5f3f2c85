using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using FreneticUtilities.FreneticDataSyntax;

namespace SwarmUI.Backends;

/// <summary>Stub of SwarmUI's backend registry.</summary>
public class BackendHandler
{
    /// <summary>Registered backend types by id.</summary>
    public Dictionary<string, BackendType> BackendTypes = [];

    /// <summary>Every backend by id.</summary>
    public ConcurrentDictionary<int, BackendData> AllBackends = new();

    private int _lastBackendId = 0;

    /// <summary>One registered backend type.</summary>
    /// <remarks>The real record also carries the settings' internal data and a network description.</remarks>
    public record class BackendType(string ID, string Name, string Description, Type SettingsClass, Type BackendClass, bool CanLoadFast = false, bool IsStandard = false);

    /// <summary>Live data about one backend.</summary>
    public class BackendData
    {
        /// <summary>The backend instance.</summary>
        public AbstractBackend AbstractBackend;

        /// <summary>Backend id, unique within the handler; SwarmUI numbers real backends from 0.</summary>
        public int ID;

        /// <summary>Type the backend was created from.</summary>
        public BackendType BackType;

        /// <summary>Number of generations running on the backend.</summary>
        public volatile int Usages = 0;
    }

    /// <summary>Live data about a text-to-image backend.</summary>
    public class T2IBackendData : BackendData
    {
        /// <summary>The backend instance as a text-to-image backend.</summary>
        public AbstractT2IBackend Backend
        {
            get => AbstractBackend as AbstractT2IBackend;
            set => AbstractBackend = value;
        }
    }

    /// <summary>Registers a backend type whose settings class is its first nested AutoConfiguration subclass.</summary>
    /// <exception cref="ArgumentException">The id is already registered (as SwarmUI's Dictionary.Add throws).</exception>
    public BackendType RegisterBackendType<T>(string id, string name, string description, bool CanLoadFast = false, bool isStandard = false)
        where T : AbstractBackend
    {
        Type settingsType = typeof(T).GetNestedTypes().FirstOrDefault(t => t.IsSubclassOf(typeof(AutoConfiguration)))
            ?? throw new InvalidOperationException($"Backend type {typeof(T).Name} has no nested AutoConfiguration settings class.");
        BackendType type = new(id, name, description, settingsType, typeof(T), CanLoadFast, isStandard);
        BackendTypes.Add(id, type);
        return type;
    }

    /// <summary>Adds a backend of the given type with the given settings, or defaults when null.</summary>
    /// <remarks>Like SwarmUI, this assigns the next id. Stub-only difference: it does not queue Init, so the caller runs it.</remarks>
    public BackendData AddNewOfType(BackendType type, AutoConfiguration config = null)
    {
        AbstractBackend backend = (AbstractBackend)Activator.CreateInstance(type.BackendClass);
        BackendData data = backend is AbstractT2IBackend ? new T2IBackendData() : new BackendData();
        data.AbstractBackend = backend;
        data.BackType = type;
        data.ID = System.Threading.Interlocked.Increment(ref _lastBackendId) - 1;
        backend.AbstractBackendData = data;
        backend.SettingsRaw = config ?? (AutoConfiguration)Activator.CreateInstance(type.SettingsClass);
        backend.Handler = this;
        AllBackends.TryAdd(data.ID, data);
        return data;
    }

    /// <summary>Returns the running backends of a type, skipping those being shut down.</summary>
    public IEnumerable<T> RunningBackendsOfType<T>() where T : AbstractBackend
    {
        return AllBackends.Values.Select(b => b.AbstractBackend as T).Where(b => b is not null && b.Status == BackendStatus.RUNNING);
    }
}
