"""``python -m voxweb`` is the ``voxweb`` command."""

from voxweb.cli import main

raise SystemExit(main())
