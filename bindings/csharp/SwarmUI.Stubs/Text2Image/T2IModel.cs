namespace SwarmUI.Text2Image;

/// <summary>Stub of a SwarmUI model entry.</summary>
public class T2IModel
{
    /// <summary>Model name, such as "OfficialStableDiffusion/sd_xl_base_1.0".</summary>
    public string Name;
}
