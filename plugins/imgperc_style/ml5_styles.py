"""The ml5 styles by hub id, in a module without torch: the plugin registers them from here."""

# id -> (upstream folder, description)
STYLES: dict[str, tuple[str, str]] = {
    "muse": ("la_muse", "Pablo Picasso, La Muse (1935)"),
    "wave": ("wave", "Katsushika Hokusai, The Great Wave off Kanagawa"),
    "udnie": ("udnie", "Francis Picabia, Udnie (1913)"),
    "scream": ("scream", "Edvard Munch, The Scream (1893)"),
    "rain-princess": ("rain_princess", "Leonid Afremov, Rain Princess"),
    "wreck": ("wreck", "J. M. W. Turner, The Shipwreck of the Minotaur"),
    "mathura": ("mathura", "ml5 style 'mathura'"),
    "matilde-perez": ("matilde_perez", "ml5 style 'matilde_perez'"),
    "matta": ("matta", "ml5 style 'matta'"),
}
