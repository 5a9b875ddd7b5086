"""imgperc's Gatys et al. optimisation baseline (`imgperc gatys`), as run by Johnson et al.

:mod:`.gatys` holds the optimisation (usable from Python), :mod:`.lbfgs` the projected L-BFGS,
:mod:`.cli` the command.
"""
