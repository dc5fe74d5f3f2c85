using System.Collections.Concurrent;

namespace SwarmUI.Media;

/// <summary>Broad kind of a media type.</summary>
public enum MediaMetaType
{
    /// <summary>Still image.</summary>
    Image,

    /// <summary>Animated image.</summary>
    Animation,

    /// <summary>Video.</summary>
    Video,

    /// <summary>Audio.</summary>
    Audio,

    /// <summary>Text.</summary>
    Text,
}

/// <summary>Stub of SwarmUI's media type registry, with the image types the extension maps to.</summary>
public class MediaType(string extension, string mimeType, MediaMetaType metaType, string[] altExtensions = null)
{
    /// <summary>File extension.</summary>
    public string Extension = extension;

    /// <summary>MIME type.</summary>
    public string MimeType = mimeType;

    /// <summary>Broad kind.</summary>
    public MediaMetaType MetaType = metaType;

    /// <summary>Other extensions.</summary>
    public string[] AltExtensions = altExtensions ?? [];

    /// <summary>Registered types by MIME type.</summary>
    public static ConcurrentDictionary<string, MediaType> TypesByMimeType = [];

    /// <summary>Registers a type.</summary>
    public static MediaType Register(MediaType type)
    {
        TypesByMimeType[type.MimeType] = type;
        return type;
    }

    /// <summary>Built-in types.</summary>
    public static MediaType ImagePng = Register(new("png", "image/png", MediaMetaType.Image)),
        ImageJpg = Register(new("jpg", "image/jpeg", MediaMetaType.Image, ["jpeg"])),
        ImageBmp = Register(new("bmp", "image/bmp", MediaMetaType.Image)),
        ImageGif = Register(new("gif", "image/gif", MediaMetaType.Animation)),
        ImageWebp = Register(new("webp", "image/webp", MediaMetaType.Animation));
}
