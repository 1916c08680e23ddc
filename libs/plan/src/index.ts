// Partition plans: which stage holds which layers.
