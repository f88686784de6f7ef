"""Developer tools: synthetic project trees for tests and benchmarks."""
