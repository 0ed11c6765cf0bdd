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
)
from videobot.modelslab.download import DownloadedVideo, TooLarge, download_video
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
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_RETRY_AFTER",
    "GENERATION_ENDPOINTS",
    "HOSTED_FILE_LIFETIME",
    "BadRequest",
    "DownloadedVideo",
    "HostedFile",
    "InsufficientFunds",
    "InvalidKey",
    "JobNotFound",
    "JobStatus",
    "ModelsLabClient",
    "ModelsLabError",
    "OutputUnavailable",
    "PlanRestricted",
    "ProviderFailed",
    "ProviderJob",
    "QueueFull",
    "TooLarge",
    "Transient",
    "download_video",
    "parse_job",
]
