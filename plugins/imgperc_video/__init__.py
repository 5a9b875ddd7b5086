"""Built-in imgperc plugin: `imgperc video`, any registered image task applied to a video file."""
