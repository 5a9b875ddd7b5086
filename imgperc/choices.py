"""The choices of options that several commands share, in a module without torch, so that
building a command (and its ``--help``) never imports it.

What each choice means lives with the code that acts on it: devices in
`imgperc.inference.device`, precisions in `imgperc.precision`, compile modes in
`imgperc.inference.engine`.
"""

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
COMPILE_MODES = ("auto", "always", "never")
