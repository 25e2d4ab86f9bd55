"""Staff commuting and business-travel carbon inventory workbench: one subpackage per stage.

survey (the annual form export -> processed tables), inventory (factors, emissions, mode shares; over the years),
business_travel (expense claims and long trips -> kgCO2e), publish (run the notebooks, HTML, summary.json, manifest,
workbook); below them reference, config, privacy and schemas; on top cli, workbench (the researcher's API,
helpers.open) and synthetic (sample and benchmark generators). Imports point one way: publish -> survey / inventory
/ business_travel -> reference, config, privacy, schemas. See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"


def open(source="sample", **options):  # noqa: A001  (helpers.open, as the researcher's entry point)
    """Open a dataset's processed years for exploration: helpers.workbench.open_workbench(source, **options).

    `source`: a dataset name under data/processed/ ("sample") or a processed folder. Options: years,
    main_mode_rule ("longest" | "public_first"), min_cell (small-cell suppression, default 3).
    """
    from helpers.workbench import open_workbench  # imported on use: the report notebooks do not pay for it

    return open_workbench(source, **options)
