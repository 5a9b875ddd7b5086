"""Built-in style models: imgperc model files (fp16 safetensors + metadata), the fast styles.

Every ``*.safetensors`` file here whose metadata says ``"task": "style"`` is registered on the
hub as a built-in model named after the file (``muse-fast.safetensors`` -> ``muse-fast``); see
:mod:`imgperc_style.builtin`. `imgperc models ship` puts a distilled run here. This folder is
a package only so that installers ship its files.
"""
