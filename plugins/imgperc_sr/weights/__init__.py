"""Built-in super-resolution models: imgperc model files (fp16 safetensors + metadata).

Every ``*.safetensors`` file here whose metadata says ``"task": "sr"`` is registered on the
hub as a built-in model named after the file (``x4-feat.safetensors`` -> ``x4-feat``); see
:mod:`imgperc_sr.models`. This folder is a package only so that installers ship its files.
"""
