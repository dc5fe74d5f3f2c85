using System;
using System.IO;
using System.Runtime.InteropServices;
using SwarmPod.Native.Interop;
using Xunit;

namespace SwarmPod.Native.Tests;

public sealed class NativeLibraryTests
{
    [Fact]
    public void Library_Loads_VersionMatchesBinding()
    {
        uint version = SwarmPodBackend.NativeVersionNumber;

        Assert.Equal(NativeLibraryLoader.ExpectedMajor, version / 10000);
        Assert.True(version / 100 % 100 >= NativeLibraryLoader.ExpectedMinor, $"library version number {version}");
        Assert.Equal($"{version / 10000}.{version / 100 % 100}.{version % 100}", SwarmPodBackend.NativeVersion);
    }

    [Fact]
    public void Library_LoadsFromConfiguredPath()
    {
        string expected = Environment.GetEnvironmentVariable(NativeLibraryLoader.PathVariable)!;

        Assert.Equal(expected, SwarmPodBackend.NativeLibraryPath);
    }

    [Fact]
    public void StatusEnum_MatchesNativeDescriptions()
    {
        // swarmpod_strerror describes every code the enum names; an unknown code gets the fallback text.
        foreach (SwarmPodStatus status in Enum.GetValues<SwarmPodStatus>())
        {
            Assert.NotEqual("unknown status", Ensure.StatusText((int)status));
        }

        Assert.Equal("unknown status", Ensure.StatusText(-999));
    }

    [Theory]
    [InlineData(0u, false)]
    [InlineData(100u, true)]
    [InlineData(199u, true)]
    [InlineData(900u, true)]
    [InlineData(99u, false)]
    [InlineData(10100u, false)]
    public void VersionCheck_AcceptsSameMajorNewerMinor(uint version, bool compatible)
    {
        Assert.Equal(compatible, NativeLibraryLoader.IsCompatible(version));
    }

    [Fact]
    public void Locate_BadOverridePath_NamesVariableAndPath()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}", "libswarmpod.so");

        DllNotFoundException error = Assert.Throws<DllNotFoundException>(() => NativeLibraryLoader.Locate(missing, [], probeDefault: false));

        Assert.Contains(NativeLibraryLoader.PathVariable, error.Message);
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void Locate_NothingFound_ListsPlacesAndBuildCommand()
    {
        string empty = Directory.CreateTempSubdirectory("swarmpod-empty-").FullName;
        try
        {
            DllNotFoundException error = Assert.Throws<DllNotFoundException>(() => NativeLibraryLoader.Locate(null, [empty], probeDefault: false));

            Assert.Contains(Path.Combine(empty, "libswarmpod.so"), error.Message);
            Assert.Contains(Path.Combine(empty, "swarmpod.dll"), error.Message);
            Assert.Contains("cmake --preset release && cmake --build --preset release", error.Message);
            Assert.Contains(NativeLibraryLoader.PathVariable, error.Message);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public void GenerationHandle_DisposeTwice_IsSafe()
    {
        int status = NativeMethods.swarmpod_generation_new(out GenerationHandle handle);
        Assert.Equal(0, status);
        Assert.False(handle.IsInvalid);

        handle.Dispose();
        handle.Dispose();

        Assert.True(handle.IsClosed);
    }

    [Fact]
    public void StringFree_Null_IsNoOp()
    {
        NativeMethods.swarmpod_string_free(0);
    }

    [Fact]
    public void LogCallback_UndefinedLevel_Throws()
    {
        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(
            () => SwarmPodLog.SetCallback((level, line) => { }, (SwarmPodLogLevel)5));

        Assert.Contains("5", error.Message);
    }

    [Fact]
    public void NativeStructs_HaveHeaderLayout()
    {
        // Sizes and offsets of the C structs on a 64-bit ABI, with natural alignment.
        Assert.Equal(96, Marshal.SizeOf<NativeProgress>());
        Assert.Equal(16, (int)Marshal.OffsetOf<NativeProgress>(nameof(NativeProgress.ElapsedSeconds)));
        Assert.Equal(48, (int)Marshal.OffsetOf<NativeProgress>(nameof(NativeProgress.WorkerId)));
        Assert.Equal(88, (int)Marshal.OffsetOf<NativeProgress>(nameof(NativeProgress.Json)));
        Assert.Equal(64, Marshal.SizeOf<NativeImage>());
        Assert.Equal(32, (int)Marshal.OffsetOf<NativeImage>(nameof(NativeImage.Width)));
        Assert.Equal(48, (int)Marshal.OffsetOf<NativeImage>(nameof(NativeImage.Metadata)));
        Assert.Equal(56, (int)Marshal.OffsetOf<NativeImage>(nameof(NativeImage.GpuSeconds)));
        Assert.Equal(32, Marshal.SizeOf<NativeCallbacks>());
    }
}
