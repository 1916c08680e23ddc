// Tokenizer, the internvl2_5 chat template, image placeholder expansion, streaming detokenization, grounding.
