"""Benchmarks of the builder, the input pipeline and the model; see BENCHMARKS.md."""
