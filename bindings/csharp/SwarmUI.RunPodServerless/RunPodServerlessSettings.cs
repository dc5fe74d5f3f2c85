using FreneticUtilities.FreneticDataSyntax;
using SwarmUI.Core;

namespace SwarmPod.SwarmUIExtension;

public partial class RunPodServerlessBackend
{
    /// <summary>Settings of one RunPod Serverless backend; each field maps to the libswarmpod config field of the same name.</summary>
    /// <remarks>SwarmUI saves these in Data/Backends.fds in field order. New fields go after the old ones and have defaults,
    /// so a file saved with fewer fields loads with the defaults for the rest.</remarks>
    public class RunPodServerlessSettings : AutoConfiguration
    {
        /// <summary>RunPod Serverless endpoint id.</summary>
        [ConfigComment("ID of the RunPod Serverless endpoint whose workers run SwarmUI, as shown in the RunPod console (for example 'abc123xyz').")]
        public string EndpointId = "";

        /// <summary>Whether jobs are submitted with /run and polled.</summary>
        [ConfigComment("Submit RunPod jobs with /run and poll their status. When false, /runsync is used.")]
        public bool UseAsync = true;

        /// <summary>Maximum number of workers leased at once.</summary>
        [ConfigComment("Maximum number of RunPod workers this backend uses at once (1 to 64), which is also the number of generations it runs in parallel. Keep it at or below the endpoint's max workers in the RunPod console.")]
        public int MaxConcurrent = 10;

        /// <summary>Interval between RunPod status polls, in milliseconds.</summary>
        [ConfigComment("Milliseconds between RunPod job status polls (50 to 60000).")]
        public int PollIntervalMs = 2000;

        /// <summary>Time allowed for a worker to become ready, in seconds.</summary>
        [ConfigComment("Seconds to wait for a worker to start and become ready (1 to 3600). Cold starts usually take 1 to 4 minutes; raise this if generations fail with a startup timeout.")]
        public int StartupTimeoutSec = 120;

        /// <summary>Time allowed for one generation, in seconds.</summary>
        [ConfigComment("Seconds allowed for one generation once the worker is ready (1 to 86400). Raise it for large batches or video.")]
        public int GenerationTimeoutSec = 300;

        /// <summary>RunPod API key used for every user.</summary>
        [ConfigComment("RunPod API key used for every user of this backend, so all their generations bill this account. Leave empty to use each user's own key from User Settings → API Keys.")]
        [ValueIsSecret]
        public string RunPodApiKey = "";

        /// <summary>Whether the model list is refreshed from a worker when the backend starts.</summary>
        [ConfigComment("Refresh the model list from a worker each time this backend starts. This wakes a worker, which bills GPU time, and needs the RunPod API key above. When off, use the refresh route or button to update the list.")]
        public bool AutoRefresh = false;

        /// <summary>Time a worker is kept after a generation, in seconds.</summary>
        [ConfigComment("Seconds a worker is kept after a generation (0 to 3600) so the next one skips the cold start. The worker bills for this time. For an interactive session, where the next prompt often comes 10 to 60 s later, raise it to about 60.")]
        public int KeepWarmSec = 5;

        /// <summary>Worker protocol: auto, v1 or v2.</summary>
        [ConfigComment("Protocol of the worker image: 'auto' detects it from the worker's reply; choose 'v1' or 'v2' only if detection fails.")]
        [ManualSettingsOptions(Vals = ["auto", "v1", "v2"], ManualNames = ["Auto-detect", "v1 (one job per generation)", "v2 (leased workers)"])]
        public string WorkerProtocol = "auto";

        /// <summary>Price of one GPU-second, for cost estimates.</summary>
        [ConfigComment("Price in dollars of one GPU-second of this endpoint's GPU (0 to 100), as listed on RunPod's pricing page. Used only for the cost estimates in image metadata and status; 0 turns estimates off.")]
        public double CostPerGpuSecond = 0;

        /// <summary>Base URL of the RunPod API.</summary>
        [ConfigComment("Advanced: base URL of the RunPod Serverless API. Change it only to use a test server such as swarmpod-emulator.")]
        public string ApiBaseUrl = "https://api.runpod.ai/v2";

        /// <summary>Whether worker URLs outside the RunPod proxy allow-list are accepted.</summary>
        [ConfigComment("Advanced: accept worker URLs outside https://*.proxy.runpod.net, including plain HTTP. Turn on only for a local test server; it lets the endpoint direct requests to any address.")]
        public bool AllowInsecureWorkerUrls = false;

        /// <summary>Whether the worker is reached over WebSocket.</summary>
        [ConfigComment("Advanced: talk to the worker over WebSocket, which streams progress and previews. Turn off if a proxy between SwarmUI and RunPod blocks WebSocket; plain HTTP is then used, without previews.")]
        public bool UseWebSocket = true;

        /// <summary>Largest WebSocket message accepted from the worker, in MiB.</summary>
        [ConfigComment("Advanced: the largest WebSocket message accepted from the worker, in MiB (1 to 2048). Each image arrives in one message as base64, about 4/3 of its file size; 256 fits four 4096x4096 PNGs. Raise it only if a generation fails with a message that names this setting.")]
        public int MaxWebSocketMessageMiB = 256;
    }
}
