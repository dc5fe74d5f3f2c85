using System;
using System.Collections.Generic;
using System.Linq;
using FreneticUtilities.FreneticDataSyntax;

namespace SwarmUI.Backends;

/// <summary>Stub of SwarmUI's backend registry.</summary>
public class BackendHandler
{
    /// <summary>Registered backend types by id.</summary>
    public Dictionary<string, BackendType> BackendTypes = [];

    /// <summary>One registered backend type.</summary>
    /// <remarks>The real record also carries the settings' internal data and a network description.</remarks>
    public record class BackendType(string ID, string Name, string Description, Type SettingsClass, Type BackendClass, bool CanLoadFast = false);

    /// <summary>Registers a backend type whose settings class is its first nested AutoConfiguration subclass.</summary>
    /// <exception cref="ArgumentException">The id is already registered (as SwarmUI's Dictionary.Add throws).</exception>
    public BackendType RegisterBackendType<T>(string id, string name, string description, bool CanLoadFast = false, bool isStandard = false)
        where T : AbstractBackend
    {
        Type settingsType = typeof(T).GetNestedTypes().FirstOrDefault(t => t.IsSubclassOf(typeof(AutoConfiguration)))
            ?? throw new InvalidOperationException($"Backend type {typeof(T).Name} has no nested AutoConfiguration settings class.");
        BackendType type = new(id, name, description, settingsType, typeof(T), CanLoadFast);
        BackendTypes.Add(id, type);
        return type;
    }
}
