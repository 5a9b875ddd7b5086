"""`imgperc serve`: a local web app and a versioned HTTP API over the image tasks (docs/serve.md)."""
