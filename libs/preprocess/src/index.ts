// Image and video preprocessing exactly as the model card: PIL-exact resampling, dynamic tiling, frame sampling.
