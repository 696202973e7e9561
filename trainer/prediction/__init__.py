"""The pieces of trainer.predict: the classifier over windows (classifier), reading and batching
windows across files (reading), rows of results (rows) and their writers (writers)."""
