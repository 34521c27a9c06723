"""``python -m wavekit`` runs the CLI."""

from wavekit.cli import main

if __name__ == "__main__":
    main()
