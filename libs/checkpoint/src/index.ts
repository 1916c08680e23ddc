// Published InternVL2.5 checkpoints: config, validation, reading, and random-weight generation.
