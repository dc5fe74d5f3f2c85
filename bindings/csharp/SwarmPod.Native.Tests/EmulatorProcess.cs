using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace SwarmPod.Native.Tests;

/// <summary>A swarmpod-emulator process on a free loopback port, killed on dispose.</summary>
public sealed partial class EmulatorProcess : IDisposable
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;

    private readonly ConcurrentQueue<string> _stderr = new();

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>The cache folder of backends made from <see cref="ConfigJson"/>, so tests never write to the
    /// user's cache; removed on <see cref="Dispose"/>.</summary>
    private readonly string _cacheFolder = Path.Combine(Path.GetTempPath(), $"swarmpod-cs-test-{Guid.NewGuid():N}");

    /// <summary>Starts the emulator with a unique API key, the given timing flags, worker protocol ("v1" or "v2"),
    /// maximum number of workers and endpoint id.</summary>
    public EmulatorProcess(int coldStartMs = 200, int generationMs = 50, int idleTimeoutMs = 1000, string protocol = "v1", int maxWorkers = 3,
        string endpointId = "test-endpoint")
    {
        ApiKey = $"sp-test-{Guid.NewGuid():N}";
        Protocol = protocol;
        EndpointId = endpointId;
        if (!File.Exists(TestEnvironment.EmulatorPath))
        {
            throw new FileNotFoundException(
                $"swarmpod-emulator not found at {TestEnvironment.EmulatorPath}. Build it with "
                + "'cmake --build <build dir> --target swarmpod swarmpod-emulator' and set SWARMPOD_BUILD_DIR to that build directory.");
        }

        ProcessStartInfo start = new(TestEnvironment.EmulatorPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            "--listen", "127.0.0.1:0",
            "--api-key", ApiKey,
            "--endpoint-id", EndpointId,
            "--cold-start-ms", coldStartMs.ToString(),
            "--generation-ms", generationMs.ToString(),
            "--idle-timeout-ms", idleTimeoutMs.ToString(),
            "--protocol", protocol,
            "--max-workers", maxWorkers.ToString(),
            "--quiet",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {TestEnvironment.EmulatorPath}.");
        try
        {
            _ = Task.Run(DrainStandardError);
            Port = ReadPort();
            _ = Task.Run(DrainStandardOutput);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Endpoint id the emulator serves.</summary>
    public string EndpointId { get; }

    /// <summary>The only API key the emulator accepts.</summary>
    public string ApiKey { get; }

    /// <summary>Loopback port the emulator listens on.</summary>
    public int Port { get; }

    /// <summary>RunPod API base URL of the emulator.</summary>
    public string ApiBaseUrl => $"http://127.0.0.1:{Port}/v2";

    /// <summary>Config JSON for a backend that talks to this emulator, with the worker protocol it serves.</summary>
    public string ConfigJson(bool withKey = false)
    {
        string key = withKey ? $", \"RunPodApiKey\": \"{ApiKey}\"" : "";
        string cache = JsonSerializer.Serialize(_cacheFolder);
        return $"{{\"EndpointId\": \"{EndpointId}\", \"ApiBaseUrl\": \"{ApiBaseUrl}\", \"AllowInsecureWorkerUrls\": true, "
            + $"\"StartupTimeoutSec\": 30, \"WorkerProtocol\": \"{Protocol}\", \"ModelCachePath\": {cache}{key}}}";
    }

    /// <summary>Worker protocol the emulator serves, "v1" or "v2".</summary>
    public string Protocol { get; }

    /// <summary>Reads the emulator's billing ledger.</summary>
    public JsonDocument Ledger()
    {
        string body = _http.GetStringAsync($"http://127.0.0.1:{Port}/admin/ledger").GetAwaiter().GetResult();
        return JsonDocument.Parse(body);
    }

    /// <summary>Polls the ledger until running_jobs is 0 or the timeout passes; returns the last value seen.</summary>
    public long WaitForNoRunningJobs(TimeSpan timeout)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (true)
        {
            long running;
            using (JsonDocument ledger = Ledger())
            {
                running = ledger.RootElement.GetProperty("running_jobs").GetInt64();
            }

            if (running == 0 || clock.Elapsed > timeout)
            {
                return running;
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>The emulator's standard error so far, for failure messages.</summary>
    public string StandardError => string.Join(Environment.NewLine, _stderr);

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // The process already exited.
        }

        _process.Dispose();
        _http.Dispose();
        try
        {
            Directory.Delete(_cacheFolder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // No backend wrote to it.
        }
        catch (IOException)
        {
            // A backend still open elsewhere; the temporary folder is left behind.
        }
    }

    private int ReadPort()
    {
        Task<string?> firstLine = _process.StandardOutput.ReadLineAsync();
        if (!firstLine.Wait(StartupTimeout))
        {
            throw new TimeoutException($"swarmpod-emulator printed no line within {StartupTimeout.TotalSeconds} s. Stderr: {StandardError}");
        }

        string line = firstLine.Result ?? "";
        Match match = ListeningLine().Match(line);
        if (!match.Success)
        {
            throw new InvalidOperationException(
                $"swarmpod-emulator's first line is '{line}', expected 'swarmpod-emulator listening on http://127.0.0.1:<port>'. Stderr: {StandardError}");
        }

        return int.Parse(match.Groups[1].Value);
    }

    private async Task DrainStandardOutput()
    {
        // Reading keeps the pipe from filling up and blocking the emulator.
        while (await _process.StandardOutput.ReadLineAsync() is not null)
        {
        }
    }

    private async Task DrainStandardError()
    {
        while (await _process.StandardError.ReadLineAsync() is string line)
        {
            _stderr.Enqueue(line);
        }
    }

    [GeneratedRegex(@"listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}

/// <summary>One emulator shared by the tests of the "emulator" collection.</summary>
public sealed class EmulatorFixture : IDisposable
{
    /// <summary>The shared emulator.</summary>
    public EmulatorProcess Emulator { get; } = new();

    /// <inheritdoc/>
    public void Dispose()
    {
        Emulator.Dispose();
    }
}

/// <summary>Tests that share <see cref="EmulatorFixture"/>.</summary>
[Xunit.CollectionDefinition("emulator")]
public sealed class EmulatorCollection : Xunit.ICollectionFixture<EmulatorFixture>
{
}
