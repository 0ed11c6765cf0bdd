#!/bin/sh
# The image's entrypoint. With no arguments the CMD runs (python bot.py: the bot, which brings the
# schema up to date itself). `migrate` runs only the migration and stops: the release step of a
# deployment with several bot processes. Anything else runs as given (e.g. `sh` to look around).
set -e

if [ "$1" = "migrate" ]; then
    shift
    exec python bot.py migrate "$@"
fi

exec "$@"
