"""The audio front end of the builder and of predict: decoding, resampling, window choice and
spectrograms, one code path for both. It imports neither Apache Beam nor TensorFlow."""
