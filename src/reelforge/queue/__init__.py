"""The job queue: messages that say "look at job X". The database stays the truth."""
