using System;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using SwarmUI.Accounts;
using SwarmUI.Utils;

namespace SwarmUI.WebAPI;

/// <summary>Stub of SwarmUI's web API registry.</summary>
public class API
{
    /// <summary>One registered route.</summary>
    public record class APICall(string Name, MethodInfo Original, Delegate Method, bool IsUserUpdate, PermInfo Permission);

    /// <summary>Registered routes by lower-case name.</summary>
    public static Dictionary<string, APICall> APIHandlers = [];

    /// <summary>Registers a route named after the method; the method must return Task&lt;JObject&gt;.</summary>
    /// <exception cref="ArgumentException">A route of that name exists (as SwarmUI's Dictionary.Add throws).</exception>
    /// <exception cref="InvalidOperationException">The method does not return Task&lt;JObject&gt;.</exception>
    public static void RegisterAPICall(Delegate method, bool isUserUpdate = false, PermInfo permission = null)
    {
        if (method.Method.ReturnType != typeof(Task<JObject>))
        {
            throw new InvalidOperationException($"API method '{method.Method.Name}' must return Task<JObject>.");
        }

        if (permission is null)
        {
            Logs.Error($"Warning: API method '{method.Method.Name}' registered without permission!");
        }

        APIHandlers.Add(method.Method.Name.ToLowerInvariant(), new APICall(method.Method.Name, method.Method, method, isUserUpdate, permission));
    }

    /// <summary>Stub-only: calls a route as SwarmUI's HTTP handler does: the permission check first (a refusal returns
    /// the "bad_permissions" error object), then each parameter bound by type (Session) or by name from the JSON body,
    /// with C# defaults for absent ones.</summary>
    public static async Task<JObject> CallForTest(string name, Session session, JObject input)
    {
        if (!APIHandlers.TryGetValue(name.ToLowerInvariant(), out APICall call))
        {
            return Utilities.ErrorObj($"Unknown API route '{name}'.", "bad_route");
        }

        if (call.Permission is not null && !session.User.HasPermission(call.Permission))
        {
            return Utilities.ErrorObj("You lack permissions for this route.", "bad_permissions");
        }

        ParameterInfo[] parameters = call.Original.GetParameters();
        object[] arguments = new object[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            ParameterInfo parameter = parameters[i];
            if (parameter.ParameterType == typeof(Session))
            {
                arguments[i] = session;
            }
            else if (parameter.ParameterType == typeof(JObject))
            {
                arguments[i] = input;
            }
            else if (input.TryGetValue(parameter.Name, out JToken token))
            {
                arguments[i] = Convert.ChangeType($"{token}", parameter.ParameterType, CultureInfo.InvariantCulture);
            }
            else if (parameter.HasDefaultValue)
            {
                arguments[i] = parameter.DefaultValue;
            }
            else
            {
                return new JObject { ["error"] = $"Missing required parameter '{parameter.Name}'" };
            }
        }

        return await (Task<JObject>)call.Method.DynamicInvoke(arguments);
    }

    /// <summary>Describes a route class in the generated docs.</summary>
    [AttributeUsage(AttributeTargets.Class)]
    public class APIClassAttribute(string description) : Attribute
    {
        /// <summary>The text.</summary>
        public string Description = description;
    }

    /// <summary>Describes a route and its output in the generated docs.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public class APIDescriptionAttribute(string description, string returnInfo) : Attribute
    {
        /// <summary>The text.</summary>
        public string Description = description;

        /// <summary>The output description.</summary>
        public string ReturnInfo = returnInfo;
    }

    /// <summary>Describes a route parameter in the generated docs.</summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    public class APIParameterAttribute(string description) : Attribute
    {
        /// <summary>The text.</summary>
        public string Description = description;
    }
}
