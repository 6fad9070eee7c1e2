"""Sub-commands of the ``icaf-sem`` CLI: one module each, ``add_parser(sub)`` and ``run(args)``."""
