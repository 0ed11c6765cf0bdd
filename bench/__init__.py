"""Benchmarks of the bot against the loopback fakes (FakeDiscord with Discord's rate limits on).

``python -m bench`` (``make bench``) prints one figure a line: acknowledgement latency under a burst
of ``/video text`` commands, Discord and ModelsLab calls per job, 429s, throughput against the
global-limit ceiling, memory of the bot process, and database statements per command.
``python -m bench --smoke`` (``make bench-smoke``) runs a small version and exits non-zero when a
figure regresses by a large factor, a job is lost or the bot crashes.
"""
