using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SwarmPod.Native.Interop;

/// <summary>Locates and loads libswarmpod once per process and checks its version.</summary>
/// <remarks>
/// Search order: the SWARMPOD_NATIVE_LIBRARY environment variable (a full path), the directory of
/// SwarmPod.Native.dll, <c>runtimes/&lt;rid&gt;/native/</c> below that directory, then the runtime's
/// default probing (LD_LIBRARY_PATH, the system library path).
/// </remarks>
internal static class NativeLibraryLoader
{
    /// <summary>Environment variable that names the library file to load, overriding every other location.</summary>
    public const string PathVariable = "SWARMPOD_NATIVE_LIBRARY";

    /// <summary>Major version of swarmpod.h that this binding mirrors.</summary>
    public const uint ExpectedMajor = 0;

    /// <summary>Minor version of swarmpod.h that this binding mirrors; a newer minor is compatible.</summary>
    public const uint ExpectedMinor = 1;

    private static readonly string[] FileNames = ["libswarmpod.so", "libswarmpod.so.0", "swarmpod.dll", "libswarmpod.dylib"];

    private static readonly object LoadLock = new();

    private static readonly List<string> ExtraDirectories = [];

    private static nint s_handle;

    private static string s_loadedFrom = "";

    // Set while Locate runs so that a probe which consults the resolver cannot recurse into it.
    [ThreadStatic]
    private static bool t_locating;

    /// <summary>Path or name from which the library was loaded; empty before the first load.</summary>
    public static string LoadedFrom
    {
        get
        {
            lock (LoadLock)
            {
                return s_loadedFrom;
            }
        }
    }

    /// <summary>Adds a directory to search after the assembly's own directories and before default probing.</summary>
    /// <returns>False when the library is already loaded, so the directory will not be searched.</returns>
    public static bool AddSearchDirectory(string directory)
    {
        lock (LoadLock)
        {
            if (s_handle != 0)
            {
                return false;
            }

            ExtraDirectories.Add(directory);
            return true;
        }
    }

    /// <summary>Installs the DllImport resolver when the assembly loads, before any import can run.</summary>
#pragma warning disable CA2255 // A module initializer is the one place that runs before every entry point of this library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void InstallResolver()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
    }

    /// <summary>Loads and version-checks the library, or returns the handle from an earlier successful load.</summary>
    /// <exception cref="DllNotFoundException">No location held a loadable library; the message lists each one.</exception>
    /// <exception cref="InvalidOperationException">The loaded library has an incompatible version.</exception>
    public static nint EnsureLoaded()
    {
        lock (LoadLock)
        {
            if (s_handle != 0)
            {
                return s_handle;
            }

            nint handle;
            string source;
            t_locating = true;
            try
            {
                (handle, source) = Locate(Environment.GetEnvironmentVariable(PathVariable), CandidateDirectories(), probeDefault: true);
            }
            finally
            {
                t_locating = false;
            }

            try
            {
                CheckVersion(handle, source);
            }
            catch
            {
                NativeLibrary.Free(handle);
                throw;
            }

            s_handle = handle;
            s_loadedFrom = source;
            return handle;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.LibraryName || t_locating)
        {
            return 0;
        }

        // An exception thrown here reaches the code that made the P/Invoke call, so callers that skip
        // EnsureLoaded still get the message listing every place that was searched.
        return EnsureLoaded();
    }

    /// <summary>Loads the library from the override path, else from the first directory that contains it, else by default
    /// probing when <paramref name="probeDefault"/> is set.</summary>
    /// <exception cref="DllNotFoundException">Nothing could be loaded; the message lists every place tried.</exception>
    internal static (nint Handle, string Source) Locate(string? overridePath, IEnumerable<string> directories, bool probeDefault)
    {
        List<string> attempts = [];

        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            // An explicit path that fails is an error: falling back to another copy would hide the mistake.
            if (TryLoadFile(overridePath, attempts, out nint handle))
            {
                return (handle, overridePath);
            }

            throw new DllNotFoundException(
                $"{PathVariable} is set to '{overridePath}', but that library could not be loaded: {string.Join("; ", attempts)}. "
                + $"Set {PathVariable} to the full path of a built libswarmpod, or unset it to search next to SwarmPod.Native.dll.");
        }

        foreach (string directory in directories)
        {
            foreach (string fileName in FileNames)
            {
                string path = Path.Combine(directory, fileName);
                if (TryLoadFile(path, attempts, out nint handle))
                {
                    return (handle, path);
                }
            }
        }

        Assembly assembly = typeof(NativeLibraryLoader).Assembly;
        string[] defaultNames = probeDefault ? ["swarmpod", "libswarmpod.so.0"] : [];
        foreach (string name in defaultNames)
        {
            // Default probing: the assembly directory with the platform prefix and suffix, then the system path.
            if (NativeLibrary.TryLoad(name, assembly, null, out nint handle))
            {
                return (handle, name);
            }

            attempts.Add($"default probing for '{name}': not found");
        }

        throw new DllNotFoundException(
            $"libswarmpod was not found. Looked in: {string.Join("; ", attempts)}. "
            + "Build it with 'cmake --preset release && cmake --build --preset release' (it is written to build/release/src/libswarmpod.so), "
            + $"then copy it next to SwarmPod.Native.dll or set {PathVariable} to its full path.");
    }

    private static IEnumerable<string> CandidateDirectories()
    {
        string assemblyDirectory = AppContext.BaseDirectory;
        string location = typeof(NativeLibraryLoader).Assembly.Location;
        if (!string.IsNullOrEmpty(location))
        {
            assemblyDirectory = Path.GetDirectoryName(location) ?? assemblyDirectory;
        }

        yield return assemblyDirectory;

        string runtimeId = RuntimeInformation.RuntimeIdentifier;
        yield return Path.Combine(assemblyDirectory, "runtimes", runtimeId, "native");

        // RuntimeIdentifier can be distribution-specific; NuGet packages use the portable form such as linux-x64.
        string portableId = PortableRuntimeIdentifier();
        if (portableId != runtimeId)
        {
            yield return Path.Combine(assemblyDirectory, "runtimes", portableId, "native");
        }

        // Copied because the caller iterates while holding LoadLock, and AddSearchDirectory takes the same lock.
        foreach (string directory in ExtraDirectories.ToArray())
        {
            yield return directory;
        }
    }

    private static string PortableRuntimeIdentifier()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        return $"{os}-{architecture}";
    }

    private static bool TryLoadFile(string path, List<string> attempts, out nint handle)
    {
        handle = 0;
        if (!File.Exists(path))
        {
            attempts.Add($"{path}: no such file");
            return false;
        }

        try
        {
            handle = NativeLibrary.Load(path);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException)
        {
            // The file exists but dlopen failed: a missing dependency such as libcurl, or the wrong architecture.
            attempts.Add($"{path}: {ex.Message}");
            return false;
        }
    }

    /// <summary>Tells whether a library version (major * 10000 + minor * 100 + patch) has the expected major
    /// version and at least the expected minor version.</summary>
    internal static bool IsCompatible(uint version)
    {
        return version / 10000 == ExpectedMajor && version / 100 % 100 >= ExpectedMinor;
    }

    private static unsafe void CheckVersion(nint handle, string source)
    {
        // The P/Invoke stubs would re-enter the resolver that is running this code, so call the export directly.
        if (!NativeLibrary.TryGetExport(handle, "swarmpod_version", out nint versionExport))
        {
            throw new InvalidOperationException(
                $"The library loaded from '{source}' has no swarmpod_version export, so it is not libswarmpod. "
                + $"Point {PathVariable} at libswarmpod.so from a swarmpod build.");
        }

        uint version = ((delegate* unmanaged[Cdecl]<uint>)versionExport)();
        if (!IsCompatible(version))
        {
            uint major = version / 10000;
            uint minor = version / 100 % 100;
            uint patch = version % 100;
            throw new InvalidOperationException(
                $"libswarmpod {major}.{minor}.{patch} loaded from '{source}' is incompatible: SwarmPod.Native needs "
                + $"{ExpectedMajor}.x with x >= {ExpectedMinor}. Rebuild libswarmpod from the same source tree as SwarmPod.Native, "
                + $"or set {PathVariable} to a matching library.");
        }
    }
}
