"""The demo corpus: synthetic songs of eight species, encoded as a small xeno-canto-like folder
(`python -m demo.corpus OUT_DIR`); what `python -m pipeline.build` reads when --input is not given.
Not part of the package that Dataflow workers install."""
