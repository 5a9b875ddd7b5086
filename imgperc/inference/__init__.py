"""The single inference path for transform nets.

Every image-to-image net (style, super-resolution, ...) runs through `run_net`: the batch is
reflection-padded (so no zero-padding artefacts reach the borders, and H, W become multiples of
the net's ``size_multiple``), run in chunks on the net's device, cropped back to exactly the
input's size times the net's scale, and clamped to [0, 1].

`run_net` runs a plain module as it is (training previews, tests). Given an `Engine`, the same
call takes the fast path: precision chosen for the device with a fallback guard, channels-last,
compiled graphs cached on disk, threads matched to the cores, and tiles with whole-image
instance-norm statistics when an image does not fit in memory.

The names below load with their module when first used, so the light modules (`.options`,
`.batching`) import without torch.
"""

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        "..choices": ("COMPILE_MODES", "DEVICES", "PRECISIONS"),
        "..precision": ("native_bf16",),
        ".batching": ("same_size_batches",),
        ".device": ("describe", "net_device", "select_device"),
        ".engine": ("DEFAULT_BATCH_SIZE", "Engine"),
        ".options": ("engine_options", "report_options"),
        ".padding": ("DEFAULT_PAD", "net_pad", "reflect_pad"),
        ".run": ("run_net",),
    },
)
