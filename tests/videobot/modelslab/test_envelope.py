"""The envelope reader against every response shape in docs/modelslab-api.md."""

from __future__ import annotations

import math

import pytest

from videobot.modelslab.envelope import (
    JobStatus,
    ProviderJob,
    extract_field_errors,
    extract_message,
    extract_urls,
    parse_eta,
    parse_job,
    parse_provider_id,
    parse_retry_after,
    parse_track_id,
    provider_id_from_fetch_result,
    raw_status,
)

OUT = "https://pub-cdn.modelslab.com/generations/a1.mp4"
PROXY = "https://cdn2.stablediffusionapi.com/generations/a1.mp4"


def test_processing_shape_from_the_docs():
    job = parse_job(
        {
            "status": "processing",
            "id": 155262350,
            "eta": 10,
            "fetch_result": "https://modelslab.com/api/v7/video-fusion/fetch/155262350",
            "future_links": [OUT],
            "output": [],
            "message": "Request processing in background",
            "meta": {"prompt": "a cat", "key": "secret"},
        }
    )
    assert job == ProviderJob(
        status=JobStatus.PROCESSING,
        provider_id="155262350",
        eta_seconds=10.0,
        output_urls=(),
        message="Request processing in background",
    )


def test_future_links_are_never_output():
    job = parse_job({"status": "processing", "id": 1, "future_links": [OUT]})
    assert job.output_urls == ()
    assert job.status is JobStatus.PROCESSING


def test_success_shape_lists_output_then_proxy_links():
    job = parse_job(
        {
            "status": "success",
            "id": 155262350,
            "output": [OUT],
            "proxy_links": [PROXY],
            "generationTime": 41.2,
            "meta": {},
        }
    )
    assert job.status is JobStatus.SUCCESS
    assert job.provider_id == "155262350"
    assert job.output_urls == (OUT, PROXY)
    assert job.eta_seconds is None
    assert job.message is None


def test_proxy_links_as_object_in_numeric_key_order():
    urls = {str(i): f"https://cdn/{i}.mp4" for i in (10, 2, 0)}
    job = parse_job({"status": "success", "id": 1, "output": [OUT], "proxy_links": urls})
    assert job.output_urls == (OUT, "https://cdn/0.mp4", "https://cdn/2.mp4", "https://cdn/10.mp4")


def test_duplicate_urls_are_listed_once():
    job = parse_job({"status": "success", "output": [OUT, OUT], "proxy_links": {"0": OUT, "1": PROXY}})
    assert job.output_urls == (OUT, PROXY)


def test_output_as_a_single_string():
    assert parse_job({"status": "success", "output": OUT}).output_urls == (OUT,)


def test_output_empty_string_while_processing():
    job = parse_job({"status": "processing", "id": 7, "output": ""})
    assert job.status is JobStatus.PROCESSING
    assert job.output_urls == ()


def test_success_without_output_is_still_processing():
    assert parse_job({"status": "success", "id": 7, "output": []}).status is JobStatus.PROCESSING
    assert parse_job({"status": "success", "id": 7, "output": ""}).status is JobStatus.PROCESSING
    assert parse_job({"status": "success", "id": 7}).status is JobStatus.PROCESSING


def test_success_with_only_proxy_links_is_success():
    job = parse_job({"status": "success", "id": 7, "output": [], "proxy_links": {"0": PROXY}})
    assert job.status is JobStatus.SUCCESS
    assert job.output_urls == (PROXY,)


def test_non_text_entries_in_output_are_ignored():
    job = parse_job({"status": "success", "output": [None, 3, "", "  ", {"url": OUT}, OUT]})
    assert job.output_urls == (OUT,)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", JobStatus.SUCCESS),
        ("Success", JobStatus.SUCCESS),
        (" SUCCESS ", JobStatus.SUCCESS),
        ("processing", JobStatus.PROCESSING),
        ("queued", JobStatus.PROCESSING),
        ("starting", JobStatus.PROCESSING),
        ("", JobStatus.PROCESSING),
        (None, JobStatus.PROCESSING),
        (42, JobStatus.PROCESSING),
        ("failed", JobStatus.FAILED),
        ("error", JobStatus.FAILED),
        ("ERROR", JobStatus.FAILED),
    ],
)
def test_status_mapping(status, expected):
    body = {"id": 1, "output": [OUT]}
    if status is not None:
        body["status"] = status
    assert parse_job(body).status is expected


def test_missing_status_is_processing_and_raw_status_is_none():
    assert raw_status({}) is None
    assert raw_status({"status": "  "}) is None
    assert raw_status({"status": " Failed "}) == "failed"
    assert parse_job({}) == ProviderJob(JobStatus.PROCESSING, None, None, (), None)


def test_failed_shape_from_the_docs():
    job = parse_job({"status": "failed", "id": 155262350, "message": "Processing failed: NSFW content"})
    assert job.status is JobStatus.FAILED
    assert job.provider_id == "155262350"
    assert job.message == "Processing failed: NSFW content"


def test_error_shape_from_the_docs():
    job = parse_job({"status": "error", "message": "Invalid API key"})
    assert job.status is JobStatus.FAILED
    assert job.provider_id is None
    assert job.message == "Invalid API key"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (155262350, "155262350"),
        ("155262350", "155262350"),
        (" abc-123 ", "abc-123"),
        (155262350.0, "155262350"),
        (1.5, None),
        ("", None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_provider_id_as_text(value, expected):
    assert parse_provider_id(value) == expected


def test_default_id_fills_a_missing_id_only():
    assert parse_job({"status": "processing"}, default_id="9").provider_id == "9"
    assert parse_job({"status": "processing", "id": 8}, default_id="9").provider_id == "8"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(10, 10.0), (12.5, 12.5), ("7", 7.0), (" 3.5 ", 3.5), (0, 0.0), (-1, 0.0), (1e12, 3600.0)],
)
def test_eta_int_float_or_text_bounded(value, expected):
    assert parse_eta({"eta": value}) == expected


@pytest.mark.parametrize("value", [None, True, "soon", math.nan, math.inf, -math.inf, "inf", [5]])
def test_unusable_eta_is_none(value):
    assert parse_eta({"eta": value}) is None
    assert parse_job({"status": "processing", "id": 1, "eta": value}).eta_seconds is None


def test_retry_after():
    assert parse_retry_after({"retry_after": 30}) == 30.0
    assert parse_retry_after({"retry_after": "12"}) == 12.0
    assert parse_retry_after({"retry_after": math.inf}) is None
    assert parse_retry_after({"retry_after": -5}) == 0.0
    assert parse_retry_after({"retry_after": 1e12}) == 3600.0
    assert parse_retry_after({}) is None


# -- the id when "id" is missing ------------------------------------------------------------------

FETCH = "https://modelslab.com/api/v7/video-fusion/fetch"


def test_processing_without_id_takes_it_from_fetch_result():
    # The third-party capture quoted in docs/modelslab-api.md.
    body = {
        "status": "processing",
        "eta": 10,
        "fetch_result": f"{FETCH}/155262350",
        "future_links": [OUT],
    }
    job = parse_job(body)
    assert job.provider_id == "155262350"
    assert job.status is JobStatus.PROCESSING
    assert job.output_urls == ()


@pytest.mark.parametrize(
    ("fetch_result", "expected"),
    [
        (f"{FETCH}/155262350", "155262350"),
        (f"{FETCH}/155262350/", "155262350"),
        (f"{FETCH}/155262350?source=queue", "155262350"),
        (f"{FETCH}/155262350/?a=1#frag", "155262350"),
        (f"{FETCH}/abc-123_x.y", "abc-123_x.y"),
        (f"{FETCH}/", None),
        (FETCH, None),
        ("https://modelslab.com/", None),
        ("", None),
        ("   ", None),
        (None, None),
        (155262350, None),
        ("http://[broken", None),
        (f"{FETCH}/has%20space", None),
    ],
)
def test_provider_id_from_fetch_result(fetch_result, expected):
    assert provider_id_from_fetch_result(fetch_result) == expected


def test_id_wins_over_fetch_result_and_fetch_result_over_default():
    body = {"status": "processing", "id": 5, "fetch_result": f"{FETCH}/6"}
    assert parse_job(body, default_id="7").provider_id == "5"
    assert (
        parse_job({"status": "processing", "fetch_result": f"{FETCH}/6"}, default_id="7").provider_id == "6"
    )
    assert parse_job({"status": "processing", "fetch_result": f"{FETCH}/"}, default_id="7").provider_id == "7"
    assert parse_job({"status": "processing", "fetch_result": f"{FETCH}/"}).provider_id is None


# -- where the result URL may be ------------------------------------------------------------------

FUTURE = "https://pub-cdn.modelslab.com/generations/future.mp4"
SINGLE = "https://pub-cdn.modelslab.com/generations/single.mp4"


@pytest.mark.parametrize(
    ("body", "urls"),
    [
        ({"output_url": SINGLE}, (SINGLE,)),
        ({"output": [], "proxy_links": [PROXY]}, (PROXY,)),
        ({"output": [], "future_links": [FUTURE]}, (FUTURE,)),
        ({"output": "", "future_links": FUTURE}, (FUTURE,)),
        (
            {"future_links": [FUTURE], "output_url": SINGLE, "proxy_links": {"0": PROXY}, "output": [OUT]},
            (OUT, PROXY, SINGLE, FUTURE),
        ),
        ({"output": [OUT], "output_url": OUT, "future_links": [OUT]}, (OUT,)),
    ],
)
def test_success_takes_the_url_from_every_field_in_order(body, urls):
    job = parse_job({"status": "success", "id": 1, **body})
    assert job.status is JobStatus.SUCCESS
    assert job.output_urls == urls


def test_future_links_never_make_a_processing_job_done():
    job = parse_job({"status": "processing", "id": 1, "output": [], "future_links": [FUTURE]})
    assert job.status is JobStatus.PROCESSING
    assert job.output_urls == ()
    assert parse_job({"id": 1, "future_links": [FUTURE]}).output_urls == ()


def test_output_url_that_is_not_text_is_ignored():
    assert parse_job({"status": "success", "output_url": 42}).status is JobStatus.PROCESSING


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("job-12", "job-12"),
        (" job-12 ", "job-12"),
        (12, "12"),
        (True, None),
        ("", None),
        ("a b", None),
        ("x" * 200, None),
        (None, None),
        ({"id": 1}, None),
    ],
)
def test_track_id(value, expected):
    assert parse_track_id(value) == expected
    assert parse_job({"status": "processing", "id": 1, "track_id": value}).track_id == expected


@pytest.mark.parametrize("key", ["message", "messege", "error", "errors"])
def test_message_in_every_field_it_has_been_seen_in(key):
    assert extract_message({"status": "error", key: "Invalid API key"}) == "Invalid API key"


def test_message_field_order_message_first_then_messege():
    body = {"messege": "second", "message": "first", "error": "third"}
    assert extract_message(body) == "first"
    assert extract_message({"message": "", "messege": "second"}) == "second"


def test_validation_object_message_is_flattened():
    body = {
        "status": "error",
        "message": {
            "prompt": ["The prompt field is required."],
            "duration": ["The selected duration is invalid.", "The duration must be a string."],
        },
    }
    assert extract_message(body) == (
        "prompt: The prompt field is required.; duration: The selected duration is invalid.; "
        "duration: The duration must be a string."
    )
    assert extract_field_errors(body) == {
        "prompt": ["The prompt field is required."],
        "duration": ["The selected duration is invalid.", "The duration must be a string."],
    }


def test_validation_object_with_text_values_and_misspelt_key():
    body = {"status": "error", "messege": {"init_image": "The init image must be a valid URL."}}
    assert extract_message(body) == "init_image: The init image must be a valid URL."
    assert extract_field_errors(body) == {"init_image": ["The init image must be a valid URL."]}


def test_errors_key_with_object_value():
    body = {"status": "error", "errors": {"model_id": ["The model id field is required."]}}
    assert extract_message(body) == "model_id: The model id field is required."
    assert extract_field_errors(body) == {"model_id": ["The model id field is required."]}


def test_message_as_list_and_wrapped_object():
    assert extract_message({"message": ["one", "two"]}) == "one; two"
    assert extract_message({"error": {"message": "Invalid API key"}}) == "Invalid API key"
    assert extract_field_errors({"error": {"message": "Invalid API key"}}) == {}


def test_text_message_has_no_field_errors():
    assert extract_field_errors({"message": "Model not found: x"}) == {}
    assert extract_field_errors({}) == {}


def test_missing_or_empty_message_is_none():
    assert extract_message({}) is None
    assert extract_message({"message": None, "error": "", "errors": {}}) is None


def test_extract_urls_shapes():
    assert extract_urls([OUT, PROXY]) == (OUT, PROXY)
    assert extract_urls(OUT) == (OUT,)
    assert extract_urls({"0": OUT}) == (OUT,)
    assert extract_urls("") == ()
    assert extract_urls(None) == ()
    assert extract_urls(5) == ()


def test_webhook_payload_with_track_id_parses_like_fetch():
    job = parse_job({"status": "success", "id": "77", "track_id": "job-12", "output": [OUT]})
    assert (job.status, job.provider_id, job.output_urls) == (JobStatus.SUCCESS, "77", (OUT,))
    assert job.track_id == "job-12"
