using System;
using System.Collections.Concurrent;

namespace SwarmUI.Accounts;

/// <summary>Stub of SwarmUI's permission registry.</summary>
public static class Permissions
{
    /// <summary>Registered permissions by id.</summary>
    public static ConcurrentDictionary<string, PermInfo> Registered = [];

    /// <summary>Registers a permission.</summary>
    /// <exception cref="InvalidOperationException">The id is already registered.</exception>
    public static PermInfo Register(PermInfo perm)
    {
        if (!Registered.TryAdd(perm.ID, perm))
        {
            throw new InvalidOperationException($"Permission '{perm.ID}' is already registered.");
        }

        return perm;
    }
}

/// <summary>Group of permissions in the roles editor.</summary>
public record class PermInfoGroup(string DisplayName, string Description);

/// <summary>One permission.</summary>
public record class PermInfo(string ID, string DisplayName, string Description, PermissionDefault Default, PermInfoGroup Group,
    PermSafetyLevel SafetyLevel = PermSafetyLevel.UNTESTED, string AltSafetyText = null);

/// <summary>Lowest built-in role that gets a permission by default.</summary>
public enum PermissionDefault
{
    /// <summary>Owner only.</summary>
    NOBODY = 0,

    /// <summary>Admins.</summary>
    ADMINS = 1,

    /// <summary>Power users.</summary>
    POWERUSERS = 2,

    /// <summary>Users.</summary>
    USER = 3,

    /// <summary>Guests.</summary>
    GUEST = 4,
}

/// <summary>Safety level of a permission.</summary>
public enum PermSafetyLevel
{
    /// <summary>Gives control over the server.</summary>
    POWERFUL,

    /// <summary>Can cause harm.</summary>
    RISKY,

    /// <summary>Not evaluated.</summary>
    UNTESTED,

    /// <summary>Harmless.</summary>
    SAFE,
}
