// Graph compiler: ONNX graphs and converted weights in a model bundle.
