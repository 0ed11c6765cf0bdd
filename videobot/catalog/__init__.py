"""The video model catalog: the models on offer, their options and prices, and request validation.

Domain code: it knows nothing of Discord, so commands, the job runner and tests all drive it alike.
"""

from videobot.catalog.catalog import (
    BOOL_FIELDS,
    ENDPOINTS,
    KINDS,
    OPTIONAL_FIELDS,
    PACKAGED_CATALOG,
    Catalog,
    CatalogError,
    InvalidRequest,
    Kind,
    ModelSpec,
    PriceLine,
    UnknownModel,
)
from videobot.catalog.loader import load_catalog
from videobot.catalog.validation import RECORD_VERSION, ValidatedVideo, VideoChoices, validate_choices

__all__ = [
    "BOOL_FIELDS",
    "ENDPOINTS",
    "KINDS",
    "OPTIONAL_FIELDS",
    "PACKAGED_CATALOG",
    "RECORD_VERSION",
    "Catalog",
    "CatalogError",
    "InvalidRequest",
    "Kind",
    "ModelSpec",
    "PriceLine",
    "UnknownModel",
    "ValidatedVideo",
    "VideoChoices",
    "load_catalog",
    "validate_choices",
]
