using System;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;

namespace FreneticUtilities.FreneticDataSyntax;

/// <summary>Stub of FreneticUtilities' AutoConfiguration: a settings class whose public fields are the settings.</summary>
/// <remarks>The real class loads and saves its fields as FDS sections; the stub loads plain key/value sections.</remarks>
public abstract class AutoConfiguration
{
    /// <summary>Help text for a settings field, shown in the SwarmUI settings page.</summary>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public class ConfigComment(string comments) : Attribute
    {
        /// <summary>The help text.</summary>
        public string Comments = comments;
    }

    /// <summary>Sets each field whose name is a key of <paramref name="section"/>; fields without a key keep their value,
    /// as SwarmUI's Data/Backends.fds loading does for settings added after the file was saved.</summary>
    /// <exception cref="FormatException">A value cannot be converted to its field's type.</exception>
    public void Load(FDSSection section)
    {
        foreach (FieldInfo field in GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            string text = section.GetString(field.Name);
            if (text is null)
            {
                continue;
            }

            object value = field.FieldType == typeof(string) ? text : Convert.ChangeType(text, field.FieldType, CultureInfo.InvariantCulture);
            field.SetValue(this, value);
        }
    }
}

/// <summary>Stub of an FDS section: the values of one settings block as text, as read from a .fds file.</summary>
public class FDSSection
{
    private readonly Dictionary<string, string> _values = [];

    /// <summary>Sets a key to a value's invariant text form.</summary>
    public void Set(string key, object value)
    {
        _values[key] = Convert.ToString(value, CultureInfo.InvariantCulture);
    }

    /// <summary>Returns the text of a key, or null when the key is absent.</summary>
    public string GetString(string key)
    {
        return _values.TryGetValue(key, out string value) ? value : null;
    }

    /// <summary>Returns the keys in this section.</summary>
    public IEnumerable<string> GetRootKeys()
    {
        return _values.Keys;
    }
}
