using System.Collections.Concurrent;
using System.Collections.Generic;

namespace SwarmUI.Accounts;

/// <summary>Stub of a SwarmUI user.</summary>
public class User
{
    private readonly ConcurrentDictionary<string, string> _genericData = new();

    private readonly HashSet<string> _permissions;

    /// <summary>Stub-only: creates a user with the given permission ids ("*" grants all). The real
    /// constructor reads the user from the database.</summary>
    public User(string userId, params string[] permissions)
    {
        UserID = userId;
        _permissions = [.. permissions];
    }

    /// <summary>User id.</summary>
    public string UserID { get; }

    /// <summary>Returns a stored value, or null when unset.</summary>
    public string GetGenericData(string dataname, string name)
    {
        return _genericData.TryGetValue($"{dataname}///{name}", out string value) ? value : null;
    }

    /// <summary>Stores a value.</summary>
    public void SaveGenericData(string dataname, string name, string data)
    {
        _genericData[$"{dataname}///{name}"] = data;
    }

    /// <summary>Tells whether the user's role grants the permission.</summary>
    public bool HasPermission(PermInfo permission)
    {
        return _permissions.Contains("*") || _permissions.Contains(permission.ID);
    }
}
