"""What can be run: tasks and their sources, models, methods, the offline asset fetcher."""
