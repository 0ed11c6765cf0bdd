"""What the cogs share and are not extensions themselves: the error path, buttons, embeds, the
presenter that shows jobs in Discord, who counts as a moderator, and launching a job."""
