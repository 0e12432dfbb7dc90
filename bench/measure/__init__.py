"""What one run measures: data and batches, training, scoring, inference clocks, memory, environment."""
