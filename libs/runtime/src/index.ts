// Running bundle graphs with onnxruntime-node: sessions, KV cache, stage executors.
