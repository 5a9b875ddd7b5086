"""An image task over image files (`.files`): the body of `imgperc stylize`, `imgperc upscale`
and of every plugin's image-files command."""
