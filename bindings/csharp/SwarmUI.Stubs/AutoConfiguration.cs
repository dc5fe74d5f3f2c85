using System;

namespace FreneticUtilities.FreneticDataSyntax;

/// <summary>Stub of FreneticUtilities' AutoConfiguration: a settings class whose public fields are the settings.</summary>
/// <remarks>The real class also loads and saves its fields as FDS sections; the stub keeps only the shape.</remarks>
public abstract class AutoConfiguration
{
    /// <summary>Help text for a settings field, shown in the SwarmUI settings page.</summary>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public class ConfigComment(string comments) : Attribute
    {
        /// <summary>The help text.</summary>
        public string Comments = comments;
    }
}
