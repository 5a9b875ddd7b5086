"""The choices of the sr plugin's options, in a module without torch (building the commands and
their ``--help`` needs them); `.nets`, `.degrade` and `.train` act on them."""

SCALES = (2, 4, 8)  # upscaling factors: the nets' and -x's choices, the built-in models' scales
SKIPS = ("bicubic", "none")  # sr-johnson's output: added to a bicubic enlargement, or the paper's tanh (see `.nets`)
DEGRADATIONS = ("bicubic", "blur")  # how low-resolution inputs are made (see `.degrade`)
TRAIN_DEGRADATIONS = (*DEGRADATIONS, "real")  # and, for training only, the random real-world chain (`.realworld`)
LOSSES = {"feat": "sr-feat", "perceptual": "sr-perceptual", "pixel": "sr-pixel", "l1": "sr-l1"}  # --loss -> preset
