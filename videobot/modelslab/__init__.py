"""ModelsLab video-fusion: the API client, its typed errors, the envelope reader and the downloader.

Nothing here imports discord; the cogs and job runner use these names and never touch aiohttp
exceptions or raw JSON envelopes themselves.
"""

from videobot.modelslab.client import (
    DEFAULT_BASE_URL,
    GENERATION_ENDPOINTS,
    HOSTED_FILE_LIFETIME,
    HostedFile,
    ModelsLabClient,
    ModelsLabObserver,
)
from videobot.modelslab.delays import MAX_PROVIDER_DELAY, bound_delay
from videobot.modelslab.download import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_REDIRECTS,
    DownloadedVideo,
    TooLarge,
    allowed_private_hosts,
    download_video,
    is_public_address,
)
from videobot.modelslab.envelope import JobStatus, ProviderJob, parse_job
from videobot.modelslab.errors import (
    DEFAULT_RETRY_AFTER,
    BadRequest,
    InsufficientFunds,
    InvalidKey,
    JobNotFound,
    ModelsLabError,
    OutputUnavailable,
    PlanRestricted,
    ProviderFailed,
    QueueFull,
    Transient,
    UnknownModel,
    UnsafeURL,
)
from videobot.modelslab.model_search import ModelInfo, ModelParameter
from videobot.modelslab.webhook import WebhookHint, parse_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_RETRY_AFTER",
    "GENERATION_ENDPOINTS",
    "HOSTED_FILE_LIFETIME",
    "MAX_PROVIDER_DELAY",
    "BadRequest",
    "DownloadedVideo",
    "HostedFile",
    "InsufficientFunds",
    "InvalidKey",
    "JobNotFound",
    "JobStatus",
    "ModelInfo",
    "ModelParameter",
    "ModelsLabClient",
    "ModelsLabError",
    "ModelsLabObserver",
    "OutputUnavailable",
    "PlanRestricted",
    "ProviderFailed",
    "ProviderJob",
    "QueueFull",
    "TooLarge",
    "Transient",
    "UnknownModel",
    "UnsafeURL",
    "WebhookHint",
    "allowed_private_hosts",
    "bound_delay",
    "download_video",
    "is_public_address",
    "parse_job",
    "parse_webhook",
]
