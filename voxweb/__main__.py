"""``python -m voxweb`` is the ``voxweb`` command."""

from voxweb.cli import main

if __name__ == "__main__":  # not when a worker process imports it
    raise SystemExit(main())
