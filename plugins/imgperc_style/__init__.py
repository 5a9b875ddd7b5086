"""Built-in imgperc plugin: fast neural style transfer (Johnson et al., 2016).

Provides the ``johnson`` and ``ml5`` transform nets, the nine pretrained ml5 styles on the hub,
the ``style`` image task and the `imgperc stylize` command.
"""
