"""Decoders of VGG-19 features for `imgperc stylize --style-image` (see ../anystyle.py),
shipped as imgperc model files in fp16; `imgperc models ship RUN NAME` puts a trained one here."""
