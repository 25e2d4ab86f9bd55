"""Staff commuting and business-travel carbon inventory workbench."""

__version__ = "0.1.0"


def open(source="sample", **options):  # noqa: A001  (helpers.open, as the researcher's entry point)
    """Open a dataset's processed years for exploration: helpers.workbench.open_workbench(source, **options).

    `source`: a dataset name under data/processed/ ("sample") or a processed folder. Options: years,
    main_mode_rule ("longest" | "public_first"), min_cell (small-cell suppression, default 3).
    """
    from helpers.workbench import open_workbench  # imported on use: the report notebooks do not pay for it

    return open_workbench(source, **options)
