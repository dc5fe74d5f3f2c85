using System;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Html;

namespace SwarmUI.WebAPI;

/// <summary>Stub of the registry of per-user keys for upstream APIs.</summary>
public static class UserUpstreamApiKeys
{
    /// <summary>Info about a key type, shown in User Settings → API Keys.</summary>
    public record class ApiKeyInfo(string KeyType, string JSPrefix, string Title, string CreateLink, HtmlString InfoHtml);

    /// <summary>Registered key types.</summary>
    public static ConcurrentDictionary<string, ApiKeyInfo> KeysByType = [];

    /// <summary>Registers a key type.</summary>
    /// <exception cref="ArgumentException">The key type is already registered.</exception>
    public static void Register(ApiKeyInfo keyInfo)
    {
        if (!KeysByType.TryAdd(keyInfo.KeyType, keyInfo))
        {
            throw new ArgumentException($"Key with type '{keyInfo.KeyType}' already registered.");
        }
    }
}
