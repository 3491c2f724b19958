"""Chat: alerts posted where responders are, and their buttons."""
