using Newtonsoft.Json.Linq;

namespace SwarmUI.Text2Image;

/// <summary>Stub of a SwarmUI model entry.</summary>
public class T2IModel
{
    /// <summary>Model name, such as "OfficialStableDiffusion/sd_xl_base_1.0".</summary>
    public string Name;

    /// <summary>Display title.</summary>
    public string Title;

    /// <summary>Description text.</summary>
    public string Description;

    /// <summary>Preview image URL or data URL.</summary>
    public string PreviewImage;

    /// <summary>Whether any backend has the model loaded.</summary>
    public bool AnyBackendsHaveLoaded;

    /// <summary>Architecture id as given; SwarmUI maps it to a registered model class.</summary>
    public string ArchitectureId;

    /// <summary>Default width in pixels.</summary>
    public int StandardWidth;

    /// <summary>Default height in pixels.</summary>
    public int StandardHeight;

    /// <summary>Whether the file format is supported.</summary>
    public bool IsSupportedModelType;

    /// <summary>Builds a model from a model provider's net object with the same explicit JToken casts as SwarmUI 0.9.8,
    /// so a missing or mistyped "loaded", "standard_width" or "standard_height" throws as it does there.</summary>
    public static T2IModel FromNetObject(JObject data)
    {
        return new T2IModel
        {
            Name = $"{data["name"]}",
            Title = $"{data["title"]}",
            Description = $"{data["description"]}",
            PreviewImage = $"{data["preview_image"]}",
            AnyBackendsHaveLoaded = (bool)data["loaded"],
            ArchitectureId = $"{data["architecture"]}",
            StandardWidth = (int)data["standard_width"],
            StandardHeight = (int)data["standard_height"],
            IsSupportedModelType = (bool)(data?["is_supported_model_format"] ?? false),
        };
    }
}
