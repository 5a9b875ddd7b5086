"""Built-in imgperc plugin: perceptual super-resolution (Johnson et al., 2016).

Provides the ``sr-johnson`` transform net, the paper's low-resolution degradation and the
`imgperc train sr` trainer.
"""
