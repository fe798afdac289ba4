"""Model compression (issue #8): pruning, float16, int8 for classifiers and codec decoders,
and the per-class cost of each (the CIE analysis of the reference paper)."""
