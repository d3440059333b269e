"""``python -m g2p``: see :mod:`g2p.cli`."""

from g2p.cli import main

raise SystemExit(main())
