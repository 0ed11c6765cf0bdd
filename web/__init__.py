"""The bot's HTTP interface (as ``cogs/`` is its Discord one): one aiohttp server in the bot process.

- `server`: the server itself, started and stopped by ``bot.py`` when ``HTTP_PORT`` is set; other
  modules contribute routes with `WebServer.add_routes`;
- `routes`: ``GET /healthz`` and ``GET /metrics``;
- `webhooks`: ``POST /modelslab/<secret>``, ModelsLab's webhooks (when ``PUBLIC_URL`` is set).

Like the cogs, it only turns requests into calls on the domain (`videobot`) and results into answers.
"""
