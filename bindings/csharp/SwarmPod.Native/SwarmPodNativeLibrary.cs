using System;
using SwarmPod.Native.Interop;

namespace SwarmPod.Native;

/// <summary>Control over where libswarmpod is loaded from, for hosts that ship it in their own folder.</summary>
public static class SwarmPodNativeLibrary
{
    /// <summary>Environment variable holding the full path of the library; it overrides every other location.</summary>
    public const string PathVariable = NativeLibraryLoader.PathVariable;

    /// <summary>Adds a directory to search after the directory of SwarmPod.Native.dll and its
    /// <c>runtimes/&lt;rid&gt;/native/</c> folder, and before the runtime's default probing.</summary>
    /// <param name="directory">An absolute directory path.</param>
    /// <returns>False when the library is already loaded, so the directory will not be searched.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty or relative.</exception>
    public static bool AddSearchDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!System.IO.Path.IsPathFullyQualified(directory))
        {
            throw new ArgumentException(
                $"Search directory '{directory}' is relative; pass an absolute path so the result does not depend on the working directory.",
                nameof(directory));
        }

        return NativeLibraryLoader.AddSearchDirectory(directory);
    }

    /// <summary>Loads libswarmpod now, so that a missing or incompatible library is reported at startup.</summary>
    /// <returns>The path or name the library was loaded from.</returns>
    /// <exception cref="DllNotFoundException">No location held a loadable library; the message lists each one.</exception>
    /// <exception cref="InvalidOperationException">The library has an incompatible version.</exception>
    public static string Load()
    {
        NativeLibraryLoader.EnsureLoaded();
        return NativeLibraryLoader.LoadedFrom;
    }
}
