"""Client-side pacing of the bot's Discord REST calls, so that Discord never has to answer 429.

Discord lets one bot token make 50 REST requests per second, whatever the route (interaction
callbacks and interaction webhooks, which carry their own token in the URL, do not count), and each
route has buckets of its own (5 messages per 5 s in a channel, ...). Past either comes a 429, and
every 429 counts toward the invalid-request limit: 10,000 in 10 minutes and the IP is banned for a
while. discord.py waits a 429 out and retries; this package keeps the bot from getting there.

Every bot-token request waits, before aiohttp sends it, for

1. a **send time** from the bot token's budget (`budget`): ``DISCORD_REST_PER_SECOND`` evenly spaced
   send times per second for the whole bot, in this process (`LocalBudget`, SQLite: one process) or
   in one PostgreSQL row per bot token that every process shares (`SharedBudget`);
2. this process to have sent fewer than that many requests within the last second (a process that
   fell behind its send times catches up no faster than the limit);
3. its route's bucket, as the responses' ``X-RateLimit-*`` headers described it (`buckets`), to hold
   a request.

Requests wait in the order they came. `RestPacer.install` hooks all of it into discord.py's
``http_trace``.
"""

from videobot.discord_pacing.buckets import RouteBuckets, route_of
from videobot.discord_pacing.budget import BURST, LocalBudget, RestBudget, SharedBudget, budget_key
from videobot.discord_pacing.pacer import RestPacer, counts_globally

__all__ = [
    "BURST",
    "LocalBudget",
    "RestBudget",
    "RestPacer",
    "RouteBuckets",
    "SharedBudget",
    "budget_key",
    "counts_globally",
    "route_of",
]
