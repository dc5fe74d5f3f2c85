using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading.Tasks;
using SwarmUI.Text2Image;
using SwarmUI.Utils;

namespace SwarmUI.Backends;

/// <summary>Stub of SwarmUI's text-to-image backend base class.</summary>
public abstract class AbstractT2IBackend : AbstractBackend
{
    /// <summary>Generates the images of one request.</summary>
    public abstract Task<Image[]> Generate(T2IParamInput user_input);

    /// <summary>Generates with live output: progress objects and images go to <paramref name="takeOutput"/>.</summary>
    public virtual async Task GenerateLive(T2IParamInput user_input, string batchId, Action<object> takeOutput)
    {
        foreach (Image image in await Generate(user_input))
        {
            takeOutput(image);
        }
    }

    /// <summary>Name of the loaded model; SwarmUI checks it after LoadModel.</summary>
    public volatile string CurrentModelName;

    /// <summary>Loads a model.</summary>
    public abstract Task<bool> LoadModel(T2IModel model, T2IParamInput input);

    /// <summary>Model names by subtype, or null when the backend does not track them.</summary>
    public ConcurrentDictionary<string, List<string>> Models = null;
}
