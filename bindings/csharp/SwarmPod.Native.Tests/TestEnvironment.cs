using System;
using System.IO;
using System.Runtime.CompilerServices;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace SwarmPod.Native.Tests;

/// <summary>Locations of the native build products that the tests run against.</summary>
/// <remarks>SWARMPOD_BUILD_DIR names a CMake build directory; without it the tests use build/dev
/// of the repository that contains the test assembly.</remarks>
internal static class TestEnvironment
{
    public static string BuildDirectory { get; } = FindBuildDirectory();

    public static string LibraryPath => Path.Combine(BuildDirectory, "src", "libswarmpod.so");

    public static string EmulatorPath => Path.Combine(BuildDirectory, "tools", "emulator", "swarmpod-emulator");

    // Runs when the test assembly loads, before any test touches SwarmPod.Native.
    [ModuleInitializer]
    internal static void PointLoaderAtBuild()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SwarmPodNativeLibrary.PathVariable)))
        {
            Environment.SetEnvironmentVariable(SwarmPodNativeLibrary.PathVariable, LibraryPath);
        }
    }

    private static string FindBuildDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable("SWARMPOD_BUILD_DIR");
        if (!string.IsNullOrEmpty(configured))
        {
            return Path.GetFullPath(configured);
        }

        DirectoryInfo? directory = new(AppContext.BaseDirectory);
        while (directory is not null)
        {
            if (File.Exists(Path.Combine(directory.FullName, "include", "swarmpod", "swarmpod.h")))
            {
                return Path.Combine(directory.FullName, "build", "dev");
            }

            directory = directory.Parent;
        }

        throw new InvalidOperationException(
            $"No swarmpod repository root above {AppContext.BaseDirectory}; set SWARMPOD_BUILD_DIR to a CMake build directory.");
    }
}
