using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Core;
using SwarmUI.Utils;

namespace SwarmPod.SwarmUIExtension;

public partial class RunPodServerlessBackend
{
    /// <summary>Returns this backend's in-memory models of one subtype: model name → net object. Never null.</summary>
    public IReadOnlyDictionary<string, JObject> RemoteModelsFor(string subtype)
    {
        return _remoteModels.TryGetValue(subtype, out Dictionary<string, JObject> models) ? models : new Dictionary<string, JObject>();
    }

    /// <summary>Reads libswarmpod's model lists for every subtype from a worker, replacing each in-memory list that came back
    /// non-empty, and takes the feature flags libswarmpod read from that worker. Starts a worker when none is held, which
    /// bills GPU time.</summary>
    /// <param name="apiKey">The user's RunPod key, or null when the settings hold one.</param>
    /// <returns>The number of models now listed.</returns>
    /// <exception cref="SwarmReadableErrorException">The backend is not running, or no subtype could be read; the message says why.</exception>
    public async Task<int> RefreshModelsAsync(string apiKey)
    {
        SwarmPodBackend native = Native ?? throw new SwarmReadableErrorException(
            $"RunPod Serverless backend '{Title}' is not running (status {Status}); check its settings in the Backends tab.");
        await _refreshLock.WaitAsync();
        try
        {
            // The first subtype may wait minutes for a cold start, so run the blocking calls off the thread pool.
            Dictionary<string, Dictionary<string, JObject>> lists = await Task.Factory.StartNew(
                () => ReadModelLists(native, refresh: true, apiKey),
                TaskCreationOptions.LongRunning);
            ApplyModelLists(lists);
            LoadFeatures(native);
            Logs.Info($"[RunPodServerless] Refreshed the model list of endpoint '{Settings.EndpointId}' (backend {BackendId}): {ModelCount} models.");
            return ModelCount;
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>Loads the model lists that libswarmpod cached on disk, which wakes no worker.</summary>
    private void LoadCachedModels(SwarmPodBackend native)
    {
        try
        {
            ApplyModelLists(ReadModelLists(native, refresh: false, apiKey: null));
        }
        catch (SwarmReadableErrorException ex)
        {
            AddLoadStatus($"The cached model list could not be read, so models show after a refresh: {ex.Message}");
            Logs.Warning($"[RunPodServerless] Backend '{Title}' (id {BackendId}) could not read its cached model list: {ex.Message}");
        }
    }

    /// <summary>Runs the refresh that AutoRefresh asks for, logging a failure instead of throwing.</summary>
    private async Task AutoRefreshModels()
    {
        try
        {
            int count = await RefreshModelsAsync(apiKey: null);
            AddLoadStatus($"AutoRefresh read {count} models from a worker.");
        }
        catch (Exception ex) when (ex is SwarmReadableErrorException or ObjectDisposedException)
        {
            _lastError = ex.Message;
            AddLoadStatus($"AutoRefresh could not read the model list; the cached list stays in use: {ex.Message}");
            Logs.Warning($"[RunPodServerless] AutoRefresh of backend '{Title}' (id {BackendId}) failed: {ex.Message}");
        }
    }

    /// <summary>Calls swarmpod_backend_list_models for every subtype. A subtype that fails is skipped as long as another
    /// one succeeds, because a worker may not support every subtype.</summary>
    /// <exception cref="SwarmReadableErrorException">Every subtype failed, or the library lacks the call.</exception>
    private Dictionary<string, Dictionary<string, JObject>> ReadModelLists(SwarmPodBackend native, bool refresh, string apiKey)
    {
        Dictionary<string, Dictionary<string, JObject>> lists = [];
        List<string> failures = [];
        foreach (string subtype in RunPodServerlessModels.Subtypes)
        {
            try
            {
                lists[subtype] = RunPodServerlessModels.ParseList(native.ListModelsJson(subtype, refresh, apiKey));
            }
            catch (EntryPointNotFoundException ex)
            {
                throw new SwarmReadableErrorException(ex.Message);
            }
            catch (Exception ex) when (ex is SwarmPodException or JsonException or FormatException)
            {
                failures.Add($"{subtype}: {ex.Message}");
                Logs.Debug($"[RunPodServerless] Listing {subtype} models of endpoint '{Settings.EndpointId}' failed: {ex.Message}");
            }
        }

        if (lists.Count == 0)
        {
            throw new SwarmReadableErrorException($"No model list could be read. {string.Join(" ", failures)}");
        }

        return lists;
    }

    /// <summary>Replaces each in-memory list that has models, keeping the old list for a subtype that came back empty,
    /// so dropdowns stay filled, and updates <c>Models</c>, which SwarmUI uses to route requests by model.</summary>
    private void ApplyModelLists(Dictionary<string, Dictionary<string, JObject>> lists)
    {
        foreach ((string subtype, Dictionary<string, JObject> models) in lists)
        {
            if (models.Count == 0)
            {
                continue;
            }

            _remoteModels[subtype] = models;
            if (Models is not null)
            {
                Models[subtype] = [.. models.Keys];
            }
        }

        try
        {
            Program.ModelRefreshEvent?.Invoke();
        }
        catch (Exception ex)
        {
            Logs.Debug($"[RunPodServerless] A model refresh listener failed: {ex.Message}");
        }
    }

    /// <summary>Builds this backend's entry for the status route from libswarmpod's snapshot, without any key or token.</summary>
    public JObject BuildStatus()
    {
        JObject entry = new()
        {
            ["backend_id"] = BackendId,
            ["title"] = Title,
            ["status"] = $"{Status}".ToLowerInvariant(),
            ["endpoint"] = Settings.EndpointId,
            ["model_count"] = ModelCount,
            ["supported_features"] = new JArray(_features),
            ["features_source"] = FeaturesFromWorker ? "worker" : "assumed",
            ["last_error"] = _lastError,
        };
        SwarmPodBackend native = Native;
        if (native is null)
        {
            return entry;
        }

        try
        {
            JObject snapshot = RunPodServerlessRedaction.WithoutSecrets(JObject.Parse(native.StatusJson()));
            foreach (JProperty property in snapshot.Properties())
            {
                // SwarmUI's own values for these fields are the ones the UI shows.
                if (property.Name is not ("backend_id" or "title" or "status"))
                {
                    entry[property.Name] = property.Value;
                }
            }

            if (string.IsNullOrEmpty($"{snapshot["last_error"]}") && _lastError.Length > 0)
            {
                entry["last_error"] = _lastError;
            }
        }
        catch (Exception ex) when (ex is SwarmPodException or EntryPointNotFoundException or JsonException or ObjectDisposedException)
        {
            entry["status_error"] = ex.Message;
        }

        return entry;
    }
}
