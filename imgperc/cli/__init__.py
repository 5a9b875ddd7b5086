"""The command-line shell: the root command, error handling, and the core commands."""
